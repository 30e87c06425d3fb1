/**
 * How each item type fills the table's generic keys (contract/table-schema.ts),
 * and how stored items are turned back into domain records.
 */
import { CONNECTION_SHARDS } from '../../contract/table-schema';
import { createHash } from 'node:crypto';

export const keys = {
  /** A booking: the session and its request, one item (keyed by the session id). */
  booking: (sessionId: string) => ({ pk: `BOOKING#${sessionId}`, sk: 'BOOKING' }),
  mechanic: (id: string) => ({ pk: `MECHANIC#${id}`, sk: 'MECHANIC' }),
  connection: (id: string) => ({ pk: `CONNECTION#${id}`, sk: 'CONNECTION' }),
  /**
   * How many messages a connection sent in one second: an item of its own beside the connection item, so counting
   * never rewrites the connection item and the three connection indexes that copy it whole.
   */
  messageCount: (connectionId: string, second: number) => ({ pk: `CONNECTION#${connectionId}`, sk: `MESSAGES#${second}` }),
  /** One mechanic's decline of one request: apart from the booking, so a booking item never grows with its declines. */
  decline: (sessionId: string, mechanicId: string) => ({ pk: `DECLINES#${sessionId}`, sk: `MECHANIC#${mechanicId}` }),
  declinesOf: (sessionId: string) => `DECLINES#${sessionId}`,
  /** The sessions one customer holds open (lambdas/domain/open-bookings.ts): one item per customer. */
  openBookings: (customerId: string) => ({ pk: customerKey(customerId), sk: 'OPEN_BOOKINGS' }),
  /** A WebSocket connect ticket, by its SHA-256 (never the ticket itself). */
  ticket: (hash: string) => ({ pk: `TICKET#${hash}`, sk: 'TICKET' }),
};

/**
 * A customer's key (an index key, and the key of their open-bookings item). Any valid token is a customer, and its `sub` may be longer than DynamoDB takes in
 * an index key (2,048 bytes; a longer one fails the write): a long id is keyed by its SHA-256 instead, under a
 * prefix no `CUSTOMER#<id>` can spell, so no customer can name another's key.
 */
function customerKey(customerId: string): string {
  if (Buffer.byteLength(customerId) <= MAX_PLAIN_CUSTOMER_KEY_BYTES) return `CUSTOMER#${customerId}`;
  return `CUSTOMER-SHA256#${createHash('sha256').update(customerId).digest('base64url')}`;
}
const MAX_PLAIN_CUSTOMER_KEY_BYTES = 1024;

/** Index keys of a booking item. */
export const bookingIndex = {
  /** `bookings-by-customer`: a customer's bookings, sorted by `created_at`. */
  customer: customerKey,
};

/** Index keys of a connection item. */
export const connectionIndex = {
  mechanic: (mechanicId: string) => `MECHANIC#${mechanicId}`,
  /**
   * A customer's connection goes in `connections-by-mechanic` too, under its
   * own prefix: a table update can add only one index, and this one's key
   * already means "one person's connections". No mechanic id has a `#`
   * (lambdas/domain/ids.ts CLIENT_ID), so the two never share a key; and a
   * customer's connection has no shard or workshop key, so no broadcast finds it.
   */
  customer: customerKey,
  workshop: (workshopId: string) => `WORKSHOP#${workshopId}`,
  shard: (shard: number) => `SHARD#${shard}`,
  /** Stable shard of a connection: spreads connections evenly, no coordination needed. */
  shardOf: (connectionId: string): number => createHash('sha1').update(connectionId).digest().readUInt32BE(0) % CONNECTION_SHARDS,
};

const STORAGE_ONLY = new Set([
  'pk',
  'sk',
  'mechanic_pk',
  'shard_pk',
  'workshop_pk',
  'connection_sk',
  'pending_pk',
  'pending_sk',
  'customer_pk',
  'customer_sk',
  'expires_at_epoch',
]);

/** Drops key and index attributes: what is left is the domain record. */
export function withoutKeys<T>(item: Record<string, unknown>): T {
  return Object.fromEntries(Object.entries(item).filter(([name]) => !STORAGE_ONLY.has(name))) as T;
}

export const isConditionFailure = (error: unknown): boolean => (error as { name?: string })?.name === 'ConditionalCheckFailedException';
