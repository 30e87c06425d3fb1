/**
 * Identifiers derived from one another, so every retry and every component
 * lands on the same records: one request per session, one schedule per request.
 */
import { createHash, randomUUID } from 'node:crypto';

/** A new session id; with an `Idempotency-Key` the same customer and key always give the same id. */
export function newSessionId(customerId: string, idempotencyKey?: string): string {
  if (idempotencyKey === undefined) return randomUUID();
  const digest = createHash('sha256').update(`${customerId}\n${idempotencyKey}`).digest('hex');
  // Shaped like a v4 UUID so every session id has one format.
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-${((parseInt(digest[16]!, 16) & 0x3) | 0x8).toString(16)}${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
}

/** The same booking sent again gives the same fingerprint; a different one under the same key does not. */
export function bookingFingerprint(booking: unknown): string {
  return createHash('sha256').update(JSON.stringify(booking)).digest('base64url');
}

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isSessionId = (value: string): boolean => SESSION_ID.test(value);

export const requestIdFor = (sessionId: string): string => `req-${sessionId}`;
/** The session a request id was derived from. */
export const sessionIdOf = (requestId: string): string => requestId.slice('req-'.length);

const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isRequestId = (value: string): boolean => REQUEST_ID.test(value);

/** EventBridge Scheduler names: at most 64 characters of `[0-9a-zA-Z-_.]`. */
export const SCHEDULE_NAME = /^[0-9a-zA-Z\-_.]{1,64}$/;

/** The request's one timer schedule. */
export function timerScheduleName(requestId: string): string {
  return scheduleName(`timer-${requestId}`);
}

function scheduleName(name: string): string {
  if (!SCHEDULE_NAME.test(name)) throw new Error(`"${name}" does not make a valid schedule name`);
  return name;
}

/** Ids clients choose (mechanics, workshops): printable, none of the separators our keys use, short enough for a table key. */
export const CLIENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
