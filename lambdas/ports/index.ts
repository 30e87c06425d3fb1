/**
 * What the use cases need from the outside world. Adapters in ../adapters
 * implement these on AWS (and so on the sandbox); use cases never import an adapter.
 */
import type { MetricName } from '../../contract/metrics';
import type { CustomerConnection } from '../domain/customer';
import type { Connection, Mechanic, MechanicProfile } from '../domain/mechanic';
import type { ServerMessage } from '../domain/messages';
import type { Audience, AuditEvent, Booking, BookingSummary, RequestMetadata } from '../domain/booking';
import type { GuardContext, LifecycleEvent } from '../domain/lifecycle';
import type { Ticket } from '../domain/tickets';

/** What a transition writes besides its new state (lifecycle.ts says which event sets what). */
export type TransitionChanges = Partial<
  Pick<Booking, 'routing' | 'route_to' | 'new_request_reason' | 'audience' | 'routing_since' | 'mechanic_id' | 'expires_at' | 'open_until'>
> & { readonly request_metadata?: Partial<RequestMetadata> };

/**
 * A pending request as the `pending-by-audience` index copies it (contract/table-schema.ts): what `sync`
 * answers with. `deadline` is its index sort key: when its current state ends (lifecycle.ts `pendingEntry`).
 */
export type PendingRequest = Pick<Booking, 'request_id' | 'session_id' | 'state' | 'concern' | 'vehicle' | 'expires_at' | 'open_until'> & {
  readonly deadline: string;
};

export type TransitionOutcome = { applied: true; booking: Booking } | { applied: false; booking: Booking | undefined };

export interface BookingStore {
  /** Stores a new booking (`booked` or `booked_unpaid`); when one with this id exists already, returns that one instead (idempotent intake). */
  create(booking: Booking): Promise<{ created: boolean; booking: Booking }>;
  get(sessionId: string): Promise<Booking | undefined>;
  /**
   * The one conditional write of a lifecycle transition: its guard (lifecycle.ts
   * TRANSITIONS) is the condition; when it holds, the state becomes the
   * transition's `to`, `changes` are set and `event` joins the audit trail.
   * When it does not, nothing changes and the current booking is returned.
   */
  transition(
    sessionId: string,
    event: LifecycleEvent,
    input: { now: string; changes?: TransitionChanges; audit: AuditEvent; guard?: Omit<GuardContext, 'now'> },
  ): Promise<TransitionOutcome>;
  /** Adds to the audit trail (and request metadata); no state change; a missing booking stays missing. */
  record(sessionId: string, audit: AuditEvent, metadata?: Partial<RequestMetadata>): Promise<void>;
  /** Remembers that this mechanic declined the booking's request (again: no change), so no later offer of it reaches them. */
  noteDecline(sessionId: string, mechanicId: string, at: string): Promise<void>;
  /** Every mechanic who declined the booking's request. */
  decliners(sessionId: string): Promise<ReadonlySet<string>>;
  /**
   * The requests pending for one audience key (lifecycle.ts `pendingEntry`) whose deadline is after `now`,
   * soonest deadline first. Read from an index: eventually consistent, so a request that became pending or
   * ended a moment ago may be missing or still listed.
   */
  pendingFor(audience: string, now: string): Promise<PendingRequest[]>;
  /** The session ids, among these, of the bookings whose request this mechanic declined. */
  declinedBy(mechanicId: string, sessionIds: readonly string[]): Promise<ReadonlySet<string>>;
  /** The customer's latest `limit` bookings, newest first (by `created_at`): their status fields only. */
  listByCustomer(customerId: string, limit: number): Promise<BookingSummary[]>;
}

/**
 * The sessions each customer holds open (lambdas/domain/open-bookings.ts), one list per customer changed by single
 * conditional writes, so a limit holds however many intakes of one customer run at once. Holding and releasing
 * the same session again changes nothing (a retry, or the timer repeating an ending, may redo either).
 */
export interface OpenBookings {
  /**
   * Lists the session as held open at `at`, unless the customer holds `max` others already: then false, and
   * nothing is written. A session already listed is held (an intake retried).
   */
  hold(customerId: string, sessionId: string, max: number, at: string): Promise<boolean>;
  /** Takes the session off the customer's list; one not listed is fine. */
  release(customerId: string, sessionId: string): Promise<void>;
  /** The sessions listed now and when the newest was held (null: none ever). */
  read(customerId: string): Promise<{ sessionIds: string[]; lastHeldAt: string | null }>;
  /** Takes these sessions off the list, unless a hold was made after `lastHeldAt` (then false: read again). */
  forget(customerId: string, sessionIds: readonly string[], lastHeldAt: string): Promise<boolean>;
}

/** Connect tickets, kept by their hash (lambdas/domain/tickets.ts) until they are used or expire. */
export interface TicketStore {
  put(hash: string, ticket: Ticket): Promise<void>;
  /**
   * Removes the ticket and returns what it stood for, when it exists and `expires_at` is after `now`; undefined
   * otherwise. One conditional delete: of any number of handshakes presenting it at once, exactly one gets it.
   */
  take(hash: string, now: string): Promise<Ticket | undefined>;
}

export interface MechanicStore {
  get(mechanicId: string): Promise<Mechanic | undefined>;
  /** Creates or updates the admin's fields, keeping `paused` (false for a new mechanic); returns the whole record. */
  put(profile: MechanicProfile): Promise<Mechanic>;
  /** Sets `paused` on an existing mechanic; undefined when there is none. */
  setPaused(mechanicId: string, paused: boolean, at: string): Promise<Mechanic | undefined>;
}

export interface ConnectionStore {
  put(connection: Connection): Promise<void>;
  delete(connectionId: string): Promise<void>;
  listByMechanic(mechanicId: string): Promise<Connection[]>;
  /** Every connection of the workshop's mechanics, page by page. */
  listByWorkshop(workshopId: string): AsyncIterable<Connection[]>;
  /** How many shards all live connections are split into. */
  readonly shards: number;
  /** One shard of all live connections, page by page (a fan-out invocation's share; never Scan). */
  listByShard(shard: number): AsyncIterable<Connection[]>;
  /** Rewrites the workshop on each of a mechanic's connections (after an admin change). */
  setWorkshop(connectionId: string, workshopId: string | null): Promise<void>;
  /** Copies the mechanic's `paused` onto one of their connections; a connection gone meanwhile stays gone. */
  setPaused(connectionId: string, paused: boolean): Promise<void>;
  /** Stores a customer's connection: listed by `listByCustomer` only, never by mechanic, workshop or shard (no broadcast reaches it). */
  putCustomer(connection: CustomerConnection): Promise<void>;
  listByCustomer(customerId: string): Promise<CustomerConnection[]>;
  /**
   * Counts one message the connection sent during `second` (epoch seconds: fixed one-second windows) in one
   * conditional write, so the count holds across containers: `within` while the second's count stays within
   * `limit`, `over` for the first message past it, `over_again` for every later one that second.
   */
  countMessage(connectionId: string, second: number, limit: number): Promise<MessageCount>;
}

export type MessageCount = 'within' | 'over' | 'over_again';

export type PushResult = 'sent' | 'gone';

/** A push `@connections` refused; `retryable` for throttling and server errors, not for a refusal that would repeat. */
export class PushFailedError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'PushFailedError';
  }
}

export interface Pusher {
  /**
   * Sends `message` with `sent_at` (server time, ISO 8601) added, as every
   * server message carries it. 'gone' when the connection no longer exists
   * (410); throws for any other failure (a PushFailedError when it answered).
   */
  send(connectionId: string, message: ServerMessage): Promise<PushResult>;
  /** Closes a connection from the server side; a gone one is fine. */
  disconnect(connectionId: string): Promise<void>;
}

/**
 * Each request's ONE durable timer (an EventBridge Scheduler one-shot
 * schedule named after the request). It invokes the timer function with
 * `{request_id, due_at}` no later than `due_at`; the function waits until then.
 */
export interface RequestTimer {
  /** Arms the timer for `due`, creating it or moving it; `hint` says which is likelier, to save a call. */
  set(requestId: string, due: Date, hint: 'new' | 'existing'): Promise<void>;
  /** Removes it; an absent timer is fine. */
  clear(requestId: string): Promise<void>;
  /** Whether it is still set (it is cleared as the last effect of a request's ending). */
  isSet(requestId: string): Promise<boolean>;
}

/** Connections a message must not reach: one connection, or every connection of one mechanic. */
export interface Exclusion {
  readonly exceptConnectionId?: string;
  readonly exceptMechanicId?: string;
}

/** Messages to many connections leave the request path: each goes to its own asynchronous invocations. */
export interface FanOut {
  /** Hands the message over for delivery to every connection of the audience (except one); resolves once it is queued. */
  send(requestId: string, audience: Audience, message: ServerMessage, options?: Exclusion): Promise<void>;
}

export interface FeatureFlag {
  /** ENABLE_FAVORITES_PRIORITY, cached; false (with a warning) when it cannot be read. */
  isPriorityEnabled(): Promise<boolean>;
}

export interface Clock {
  now(): Date;
  /** Waits this long (a bounded wait inside one invocation, never a business deadline). */
  sleep(ms: number): Promise<void>;
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** The business metrics (contract/metrics.ts): counted during the work, published when the invocation ends. */
export interface Metrics {
  /** Adds `value` (default 1) to the metric. */
  count(name: MetricName, value?: number): void;
  /** Records one duration; CloudWatch keeps its statistics (average, percentiles) rather than a sum. */
  milliseconds(name: MetricName, value: number): void;
}

export interface VerifiedToken {
  /** The token's `sub`: the customer or mechanic id. */
  readonly subject: string;
  readonly scopes: readonly string[];
}

export interface TokenVerifier {
  /** Checks signature, issuer, audience and expiry; throws when any is wrong. */
  verify(token: string): Promise<VerifiedToken>;
}
