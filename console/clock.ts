/**
 * Counting down on the server's clock: every server message carries `sent_at`,
 * so its difference from the local time at receipt is this device's skew
 * (plus the message's transit, a few milliseconds). Deadlines (`expires_at`)
 * are compared with local time corrected by that skew, never with the local
 * clock alone, which on a phone may be minutes off.
 */
export class ServerClock {
  /** Server time minus local time, in ms; 0 until a message says otherwise. */
  private skewMs = 0;
  /** What the HTTP `Date` headers seen so far allow the skew to be (`observeHttpDate`). */
  private dateBounds: { low: number; high: number } | undefined;

  /** Learns the skew from a message's `sent_at` at the moment it arrived. */
  observe(sentAt: unknown, receivedAtMs: number): void {
    const sent = typeof sentAt === 'string' ? Date.parse(sentAt) : Number.NaN;
    if (Number.isFinite(sent)) this.skewMs = sent - receivedAtMs;
  }

  /**
   * Learns the skew from an HTTP answer's `Date` header (the ops view's, which has no WebSocket). It names a
   * whole second: the server's clock was within that second when it answered, a moment before the answer
   * arrived, which bounds the skew to a 1-second range. Each answer narrows the range; the skew is its middle.
   * A range that no longer overlaps means a clock was set meanwhile: it starts again from that answer.
   */
  observeHttpDate(date: string | null | undefined, receivedAtMs: number): void {
    const second = date ? Date.parse(date) : Number.NaN;
    if (!Number.isFinite(second)) return;
    const low = second - receivedAtMs;
    const high = low + 1000;
    const known = this.dateBounds;
    const narrowed = known && { low: Math.max(known.low, low), high: Math.min(known.high, high) };
    this.dateBounds = narrowed && narrowed.low < narrowed.high ? narrowed : { low, high };
    this.skewMs = (this.dateBounds.low + this.dateBounds.high) / 2;
  }

  now(localMs: number = Date.now()): number {
    return localMs + this.skewMs;
  }

  /** Milliseconds left until `expiresAt` on the server's clock (negative once past). */
  remaining(expiresAt: string, localMs: number = Date.now()): number {
    return Date.parse(expiresAt) - this.now(localMs);
  }
}

/** `m:ss`, rounded up so a countdown shows 0:00 only once the deadline is reached. */
export function formatRemaining(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
