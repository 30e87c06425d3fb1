/**
 * The customer's WebSocket connection: authorize the handshake, index the
 * connection (so their bookings' status reaches it), drop it on disconnect,
 * and answer their `sync` with where each of their latest bookings stands.
 */
import { describeError } from '../domain/errors';
import { sessionsAnswer } from '../domain/messages';
import type { Deps } from './deps';

/** How many bookings a customer's `sync` lists: their latest, which is what an app shows. */
export const SYNC_BOOKINGS_LIMIT = 20;

export type CustomerVerdict = { allowed: true; customerId: string } | { allowed: false; why: 'invalid_token' };

/** `$connect` authorizer with `role=customer`: any valid token is a customer, as on the customer HTTP routes. */
export async function authorizeCustomer(deps: Pick<Deps, 'tokens' | 'log'>, token: string): Promise<CustomerVerdict> {
  try {
    return { allowed: true, customerId: (await deps.tokens.verify(token)).subject };
  } catch (error) {
    deps.log.info('[connect] Customer handshake refused: invalid token', { error: describeError(error) });
    return { allowed: false, why: 'invalid_token' };
  }
}

export async function connectCustomer(deps: Pick<Deps, 'connections' | 'clock' | 'log'>, input: { connectionId: string; customerId: string }): Promise<void> {
  await deps.connections.putCustomer({ connection_id: input.connectionId, customer_id: input.customerId, connected_at: deps.clock.now().toISOString() });
  deps.log.info('[connect] Customer connected', { connection_id: input.connectionId, customer_id: input.customerId });
}

export async function disconnectCustomer(deps: Pick<Deps, 'connections' | 'log'>, input: { connectionId: string; customerId: string }): Promise<void> {
  await deps.connections.delete(input.connectionId);
  deps.log.info('[connect] Customer disconnected', { connection_id: input.connectionId, customer_id: input.customerId });
}

/** A customer's `sync`: one `sessions` message with their latest bookings' status, newest first (one Query of the index). */
export async function syncCustomer(deps: Pick<Deps, 'bookings' | 'pusher' | 'clock'>, input: { customerId: string; connectionId: string }): Promise<void> {
  const bookings = await deps.bookings.listByCustomer(input.customerId, SYNC_BOOKINGS_LIMIT);
  await deps.pusher.send(input.connectionId, sessionsAnswer(bookings, deps.clock.now().toISOString()));
}
