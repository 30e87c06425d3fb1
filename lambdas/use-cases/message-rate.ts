/**
 * Message flooding: a WebSocket connection may send `messageRateLimit` messages per second (fixed one-second
 * windows of the clock). Past that, it is told once — an `error` event `rate_limited` — and the rest of that second's
 * messages do nothing. API Gateway throttles a route for everyone at once and cannot single out one connection;
 * the count is kept in the table, not in memory, because a connection's messages land in any of a function's
 * containers (and in several functions: accept, ping, sync…).
 */
import { errorEvent } from '../domain/messages';
import type { Deps } from './deps';

export type MessageRateDeps = Pick<Deps, 'connections' | 'pusher' | 'clock' | 'log' | 'messageRateLimit'>;

export interface Sender {
  readonly connectionId: string;
  /** Who holds the connection (a mechanic or customer id), so ops can tell whom to talk to, or suspend. */
  readonly senderId: string;
}

/** Counts the message; true when it may run, false when it must do nothing (the first such message of a second tells the client). */
export async function admitMessage(deps: MessageRateDeps, { connectionId, senderId }: Sender): Promise<boolean> {
  const limit = deps.messageRateLimit;
  const second = Math.floor(deps.clock.now().getTime() / 1000);
  const count = await deps.connections.countMessage(connectionId, second, limit);
  if (count === 'within') return true;
  if (count === 'over') {
    deps.log.warn('[RateLimit] A connection sent more messages in one second than it may; the rest of that second is ignored', {
      connectionId,
      sender_id: senderId,
      limit,
    });
    await deps.pusher.send(
      connectionId,
      errorEvent('rate_limited', `more than ${limit} messages in one second: this one and the rest of this second are ignored`),
    );
  }
  return false;
}
