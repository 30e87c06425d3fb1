/**
 * What the use cases need from the outside world. Adapters in ../adapters
 * implement these on AWS (and so on the sandbox); use cases never import an adapter.
 */
import type { MetricName } from '../../contract/metrics';
import type { Connection, Mechanic } from '../domain/mechanic';
import type { ServerMessage } from '../domain/messages';
import type { AuditEvent, DispatchRequest, FallbackReason, RequestMetadata } from '../domain/request';
import type { Session } from '../domain/session';

export interface SessionStore {
  /** Stores a new session; when one with this id exists already, returns that one instead (idempotent intake). */
  create(session: Session): Promise<{ created: boolean; session: Session }>;
  get(sessionId: string): Promise<Session | undefined>;
  /** awaiting_checkout/fulfilled → fulfilled with this request id; undefined when the session is cancelled or missing. */
  markFulfilled(sessionId: string, requestId: string, at: string): Promise<Session | undefined>;
  /** awaiting_checkout/fulfilled → cancelled; undefined when missing. */
  markCancelled(sessionId: string, at: string): Promise<Session | undefined>;
}

export type MatchOutcome = { matched: true; request: DispatchRequest } | { matched: false; request: DispatchRequest | undefined };

export interface RequestStore {
  /** Creates the request unless it exists (one request per session); returns what is stored. */
  create(request: DispatchRequest): Promise<{ created: boolean; request: DispatchRequest }>;
  get(requestId: string): Promise<DispatchRequest | undefined>;
  /** Adds to the audit trail and metadata; no state change. */
  record(requestId: string, metadata: Partial<RequestMetadata>, event: AuditEvent): Promise<void>;
  /**
   * The one conditional write of an accept: pending and allowed for this
   * mechanic (see `acceptRefusal`) → matched. Otherwise nothing changes.
   */
  match(requestId: string, acceptor: { mechanicId: string; workshopId: string | null }, at: string): Promise<MatchOutcome>;
  /**
   * The one conditional write of a fallback: a pending priority request not
   * yet fallen back gets `fallback_broadcast_at`. Undefined when another
   * invocation, a match or a cancel got there first.
   */
  claimFallback(requestId: string, reason: FallbackReason, at: string): Promise<DispatchRequest | undefined>;
  /** Undoes our own claim after the broadcast failed, so Lambda's async retry can run it. */
  releaseFallback(requestId: string, claimedAt: string, event: AuditEvent): Promise<void>;
  /** pending → cancelled; undefined when it was no longer pending. */
  cancel(requestId: string, at: string): Promise<DispatchRequest | undefined>;
}

export interface MechanicStore {
  get(mechanicId: string): Promise<Mechanic | undefined>;
  put(mechanic: Mechanic): Promise<void>;
}

export interface ConnectionStore {
  put(connection: Connection): Promise<void>;
  delete(connectionId: string): Promise<void>;
  listByMechanic(mechanicId: string): Promise<Connection[]>;
  /** Every connection of the workshop's mechanics, page by page. */
  listByWorkshop(workshopId: string): AsyncIterable<Connection[]>;
  /** Every live connection, page by page (Query per shard, never Scan). */
  listAll(): AsyncIterable<Connection[]>;
  /** Rewrites the workshop on each of a mechanic's connections (after an admin change). */
  setWorkshop(connectionId: string, workshopId: string | null): Promise<void>;
}

export type PushResult = 'sent' | 'gone';

export interface Pusher {
  /** 'gone' when the connection no longer exists (410); throws for any other failure. */
  send(connectionId: string, message: ServerMessage): Promise<PushResult>;
  /** Closes a connection from the server side; a gone one is fine. */
  disconnect(connectionId: string): Promise<void>;
}

/** The durable timers: one-shot schedules that outlive any invocation. */
export interface FallbackScheduler {
  /** Creates the one-shot schedule firing the fallback for this request at `at`; an existing one is kept. */
  scheduleFallback(requestId: string, at: Date): Promise<void>;
  /** Deletes it; an absent schedule is fine. */
  cancelFallback(requestId: string): Promise<void>;
  /**
   * Creates the one-shot schedule that finishes this session's routing at `at`
   * in case the invocation routing it now dies between its writes; an existing one is kept.
   */
  guardRouting(sessionId: string, at: Date): Promise<void>;
  /** Deletes it once the routing is done; an absent schedule is fine. */
  releaseRoutingGuard(sessionId: string): Promise<void>;
}

export interface FeatureFlag {
  /** ENABLE_FAVORITES_PRIORITY, cached; false (with a warning) when it cannot be read. */
  isPriorityEnabled(): Promise<boolean>;
}

export interface Clock {
  now(): Date;
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
