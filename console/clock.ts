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

  /** Learns the skew from a message's `sent_at` at the moment it arrived. */
  observe(sentAt: unknown, receivedAtMs: number): void {
    const sent = typeof sentAt === 'string' ? Date.parse(sentAt) : Number.NaN;
    if (Number.isFinite(sent)) this.skewMs = sent - receivedAtMs;
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
