/**
 * Small in-memory implementations of the ports, for the unit tier (use cases
 * without dynalite, sockets or child processes) and wherever a test only
 * needs to see what a use case asked of a port.
 *
 * The stores keep the semantics of the DynamoDB adapters in
 * lambdas/adapters/dynamodb-*.ts: each conditional write is the adapter's
 * ConditionExpression written as plain ifs, and a refused write changes
 * nothing. test/support/store-contract.ts runs the same suite on both. Every
 * read and write copies (structuredClone), so no caller can change stored state.
 */
import { DEFAULT_PRIORITY_WINDOW_SECONDS, DEFAULT_ROUTING_GUARD_SECONDS } from '../../contract/env';
import type { MetricName } from '../../contract/metrics';
import { fallbackScheduleName, routingGuardScheduleName } from '../../lambdas/domain/ids';
import type { Connection, Mechanic } from '../../lambdas/domain/mechanic';
import type { ServerMessage } from '../../lambdas/domain/messages';
import type { AuditEvent, DispatchRequest, FallbackReason, RequestMetadata } from '../../lambdas/domain/request';
import type { Session } from '../../lambdas/domain/session';
import type {
  Clock,
  ConnectionStore,
  FallbackScheduler,
  FeatureFlag,
  LogFields,
  Logger,
  MatchOutcome,
  MechanicStore,
  Metrics,
  PushResult,
  Pusher,
  RequestStore,
  SessionStore,
} from '../../lambdas/ports';
import type { Deps } from '../../lambdas/use-cases/deps';

/** What the use cases counted, summed per metric as CloudWatch would. */
export class RecordingMetrics implements Metrics {
  readonly counted: { name: MetricName; value: number }[] = [];

  count(name: MetricName, value = 1): void {
    this.counted.push({ name, value });
  }

  total(name: MetricName): number {
    return this.counted.filter((c) => c.name === name).reduce((sum, c) => sum + c.value, 0);
  }
}

/** The injected clock: time moves only when a test says so. */
export class ManualClock implements Clock {
  constructor(private current = new Date('2026-11-24T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

/** DynamoDbSessionStore. */
export class InMemorySessionStore implements SessionStore {
  private readonly items = new Map<string, Session>();

  async create(session: Session): Promise<{ created: boolean; session: Session }> {
    const existing = this.items.get(session.session_id);
    if (existing) return { created: false, session: structuredClone(existing) };
    return { created: true, session: this.save(session) };
  }

  async get(sessionId: string): Promise<Session | undefined> {
    const session = this.items.get(sessionId);
    return session && structuredClone(session);
  }

  /** `attribute_exists(pk) AND #status <> :cancelled` */
  async markFulfilled(sessionId: string, requestId: string, at: string): Promise<Session | undefined> {
    const session = this.items.get(sessionId);
    if (!session || session.status === 'cancelled') return undefined;
    return this.save({ ...session, status: 'fulfilled', request_id: requestId, updated_at: at });
  }

  /** `attribute_exists(pk)`: any status, a cancelled one included. */
  async markCancelled(sessionId: string, at: string): Promise<Session | undefined> {
    const session = this.items.get(sessionId);
    if (!session) return undefined;
    return this.save({ ...session, status: 'cancelled', updated_at: at });
  }

  private save(session: Session): Session {
    this.items.set(session.session_id, structuredClone(session));
    return structuredClone(session);
  }
}

/** A request as the table holds it: the adapter's writes add `matched_at` and `cancelled_at`. */
type StoredRequest = DispatchRequest & { readonly matched_at?: string; readonly cancelled_at?: string };

/** DynamoDbRequestStore. */
export class InMemoryRequestStore implements RequestStore {
  private readonly items = new Map<string, StoredRequest>();

  async create(request: DispatchRequest): Promise<{ created: boolean; request: DispatchRequest }> {
    const existing = this.items.get(request.request_id);
    if (existing) return { created: false, request: structuredClone(existing) };
    return { created: true, request: this.save(request) };
  }

  async get(requestId: string): Promise<DispatchRequest | undefined> {
    const request = this.items.get(requestId);
    return request && structuredClone(request);
  }

  /** `attribute_exists(pk)`; a missing request is left missing, without an error (the adapter swallows the refusal too). */
  async record(requestId: string, metadata: Partial<RequestMetadata>, event: AuditEvent): Promise<void> {
    const request = this.items.get(requestId);
    if (!request) return;
    const defined = Object.fromEntries(Object.entries(metadata).filter(([, value]) => value !== undefined));
    this.save({ ...request, metadata: { ...request.metadata, ...defined }, events: [...request.events, event] });
  }

  async match(requestId: string, acceptor: { mechanicId: string; workshopId: string | null }, at: string): Promise<MatchOutcome> {
    const request = this.items.get(requestId);
    if (!request || !mayMatch(request, acceptor)) return { matched: false, request: request && structuredClone(request) };
    const matched = this.save({
      ...request,
      status: 'matched',
      mechanic_id: acceptor.mechanicId,
      matched_at: at,
      events: [...request.events, { at, type: 'accepted', mechanic_id: acceptor.mechanicId }],
    });
    return { matched: true, request: matched };
  }

  /** `#status = :pending AND #routing = :priority AND attribute_not_exists(#metadata.fallback_broadcast_at)` */
  async claimFallback(requestId: string, reason: FallbackReason, at: string): Promise<DispatchRequest | undefined> {
    const request = this.items.get(requestId);
    if (request?.status !== 'pending' || request.routing !== 'priority' || request.metadata.fallback_broadcast_at !== undefined) return undefined;
    return this.save({
      ...request,
      metadata: { ...request.metadata, fallback_broadcast_at: at, fallback_reason: reason },
      events: [...request.events, { at, type: 'fallback_started', reason }],
    });
  }

  /** `#metadata.fallback_broadcast_at = :claimed_at`, whatever the status; otherwise nothing changes, without an error. */
  async releaseFallback(requestId: string, claimedAt: string, event: AuditEvent): Promise<void> {
    const request = this.items.get(requestId);
    if (!request || request.metadata.fallback_broadcast_at !== claimedAt) return;
    const { fallback_broadcast_at: _claimedAt, fallback_reason: _reason, ...metadata } = request.metadata;
    this.save({ ...request, metadata, events: [...request.events, event] });
  }

  /** `#status = :pending` */
  async cancel(requestId: string, at: string): Promise<DispatchRequest | undefined> {
    const request = this.items.get(requestId);
    if (request?.status !== 'pending') return undefined;
    return this.save({ ...request, status: 'cancelled', cancelled_at: at, events: [...request.events, { at, type: 'cancelled' }] });
  }

  private save(request: StoredRequest): DispatchRequest {
    this.items.set(request.request_id, structuredClone(request));
    return structuredClone(request);
  }
}

/**
 * The ConditionExpression of DynamoDbRequestStore.match, clause by clause:
 * pending AND (broadcast OR (priority AND (the favorite OR fallen back)) OR
 * (workshop AND this workshop, only when the acceptor has one)).
 */
function mayMatch(request: DispatchRequest, acceptor: { mechanicId: string; workshopId: string | null }): boolean {
  if (request.status !== 'pending') return false;
  switch (request.routing) {
    case 'broadcast':
      return true;
    case 'priority':
      return request.preferred_mechanic_id === acceptor.mechanicId || request.metadata.fallback_broadcast_at !== undefined;
    case 'workshop':
      return !!acceptor.workshopId && request.workshop_id === acceptor.workshopId;
  }
}

/** DynamoDbMechanicStore; `gets` lists every id looked up, so a test can show a mechanic was never read. */
export class InMemoryMechanicStore implements MechanicStore {
  private readonly items = new Map<string, Mechanic>();
  readonly gets: string[] = [];

  async get(mechanicId: string): Promise<Mechanic | undefined> {
    this.gets.push(mechanicId);
    const mechanic = this.items.get(mechanicId);
    return mechanic && structuredClone(mechanic);
  }

  async put(mechanic: Mechanic): Promise<void> {
    this.items.set(mechanic.mechanic_id, structuredClone(mechanic));
  }
}

/**
 * DynamoDbConnectionStore. Each listing is one page, sorted by connection id
 * as an index query's sort key orders it; the adapter's `listAll` gives one
 * page per shard instead, so only the set of connections is the contract.
 */
export class InMemoryConnectionStore implements ConnectionStore {
  private readonly items = new Map<string, Connection>();

  async put(connection: Connection): Promise<void> {
    this.items.set(connection.connection_id, structuredClone(connection));
  }

  async delete(connectionId: string): Promise<void> {
    this.items.delete(connectionId);
  }

  async listByMechanic(mechanicId: string): Promise<Connection[]> {
    return this.matching((c) => c.mechanic_id === mechanicId);
  }

  /** Only a connection with a (non-empty) workshop is in the workshop index. */
  async *listByWorkshop(workshopId: string): AsyncIterable<Connection[]> {
    yield this.matching((c) => !!c.workshop_id && c.workshop_id === workshopId);
  }

  async *listAll(): AsyncIterable<Connection[]> {
    yield this.matching(() => true);
  }

  /** `attribute_exists(pk)`: a connection gone meanwhile is not brought back. An empty id is stored as null, as the adapter does. */
  async setWorkshop(connectionId: string, workshopId: string | null): Promise<void> {
    const connection = this.items.get(connectionId);
    if (!connection) return;
    this.items.set(connectionId, { ...connection, workshop_id: workshopId ? workshopId : null });
  }

  private matching(test: (connection: Connection) => boolean): Connection[] {
    return [...this.items.values()]
      .filter(test)
      .sort((a, b) => (a.connection_id < b.connection_id ? -1 : 1))
      .map((c) => structuredClone(c));
  }
}

/**
 * ApiGatewayPusher as `@connections` answers it: a message sent is recorded
 * for its connection; a gone connection answers 'gone' (410), a broken one
 * throws (a 500). A connection closed by `disconnect` is gone from then on.
 */
export class RecordingPusher implements Pusher {
  readonly sent: { connectionId: string; message: ServerMessage }[] = [];
  readonly disconnected: string[] = [];
  private readonly gone = new Set<string>();
  private readonly broken = new Set<string>();

  /** The mechanic's network dropped and `$disconnect` never came: the next push answers 410. */
  markGone(connectionId: string): void {
    this.gone.add(connectionId);
  }

  /** Every call for this connection fails with a 500. */
  markBroken(connectionId: string): void {
    this.broken.add(connectionId);
  }

  async send(connectionId: string, message: ServerMessage): Promise<PushResult> {
    if (this.broken.has(connectionId)) throw internalServerError(connectionId);
    if (this.gone.has(connectionId)) return 'gone';
    this.sent.push({ connectionId, message: structuredClone(message) });
    return 'sent';
  }

  async disconnect(connectionId: string): Promise<void> {
    if (this.broken.has(connectionId)) throw internalServerError(connectionId);
    this.disconnected.push(connectionId);
    this.gone.add(connectionId);
  }

  /** What that connection received, in order. */
  sentTo(connectionId: string): ServerMessage[] {
    return this.sent.filter((s) => s.connectionId === connectionId).map((s) => s.message);
  }
}

const internalServerError = (connectionId: string): Error =>
  Object.assign(new Error(`Internal server error posting to ${connectionId}`), { name: 'InternalServerErrorException' });

export interface RecordedSchedule {
  /** The schedule's name, as EventBridgeFallbackScheduler derives it (domain/ids.ts). */
  readonly name: string;
  /** When it fires (ISO 8601 UTC). */
  readonly at: string;
  /** The target's input. */
  readonly input: { request_id: string } | { session_id: string };
}

/**
 * EventBridgeFallbackScheduler: one-shot schedules by name. Creating one that
 * exists keeps the existing one (ConflictException); deleting an absent one is
 * fine (ResourceNotFoundException). `failCreates` makes every create throw, as
 * CreateSchedule into a deleted group does.
 */
export class RecordingScheduler implements FallbackScheduler {
  private readonly live = new Map<string, RecordedSchedule>();
  /** Every schedule created, in order (a kept existing one is not created again). */
  readonly created: RecordedSchedule[] = [];
  /** The name of every delete call, in order. */
  readonly deleteCalls: string[] = [];
  failCreates = false;

  async scheduleFallback(requestId: string, at: Date): Promise<void> {
    this.create({ name: fallbackScheduleName(requestId), at: at.toISOString(), input: { request_id: requestId } });
  }

  async cancelFallback(requestId: string): Promise<void> {
    this.delete(fallbackScheduleName(requestId));
  }

  async guardRouting(sessionId: string, at: Date): Promise<void> {
    this.create({ name: routingGuardScheduleName(sessionId), at: at.toISOString(), input: { session_id: sessionId } });
  }

  async releaseRoutingGuard(sessionId: string): Promise<void> {
    this.delete(routingGuardScheduleName(sessionId));
  }

  /** The schedule of that name, while it exists. */
  schedule(name: string): RecordedSchedule | undefined {
    const found = this.live.get(name);
    return found && structuredClone(found);
  }

  /** Every schedule that exists now, by name. */
  schedules(): RecordedSchedule[] {
    return [...this.live.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => structuredClone(s));
  }

  private create(schedule: RecordedSchedule): void {
    if (this.failCreates) throw Object.assign(new Error(`Schedule group does not exist (${schedule.name})`), { name: 'ResourceNotFoundException' });
    if (this.live.has(schedule.name)) return;
    this.live.set(schedule.name, schedule);
    this.created.push(structuredClone(schedule));
  }

  private delete(name: string): void {
    this.deleteCalls.push(name);
    this.live.delete(name);
  }
}

/** ENABLE_FAVORITES_PRIORITY as a switch; `reads` counts the look-ups, to show a path never read it. */
export class SettableFlag implements FeatureFlag {
  reads = 0;
  constructor(public enabled = false) {}

  async isPriorityEnabled(): Promise<boolean> {
    this.reads++;
    return this.enabled;
  }
}

export interface LoggedLine {
  level: 'INFO' | 'WARN' | 'ERROR';
  message: string;
  fields: LogFields;
}

export class RecordingLogger implements Logger {
  readonly lines: LoggedLine[] = [];

  info(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'INFO', message, fields });
  }
  warn(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'WARN', message, fields });
  }
  error(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'ERROR', message, fields });
  }

  messages(prefix = ''): string[] {
    return this.lines.filter((l) => l.message.startsWith(prefix)).map((l) => l.message);
  }
}

/** Deps whose ports are the in-memory ones above, typed as such so a test can arrange and inspect them. */
export interface InMemoryDeps extends Deps {
  readonly sessions: InMemorySessionStore;
  readonly requests: InMemoryRequestStore;
  readonly mechanics: InMemoryMechanicStore;
  readonly connections: InMemoryConnectionStore;
  readonly pusher: RecordingPusher;
  readonly scheduler: RecordingScheduler;
  readonly flag: SettableFlag;
  readonly clock: ManualClock;
  readonly log: RecordingLogger;
  readonly metrics: RecordingMetrics;
}

/** A full set of in-memory deps on a fresh ManualClock, with the stack's defaults for the windows. */
export function inMemoryDeps(options: { priorityEnabled?: boolean; priorityWindowSeconds?: number; routingGuardSeconds?: number } = {}): InMemoryDeps {
  return {
    sessions: new InMemorySessionStore(),
    requests: new InMemoryRequestStore(),
    mechanics: new InMemoryMechanicStore(),
    connections: new InMemoryConnectionStore(),
    pusher: new RecordingPusher(),
    scheduler: new RecordingScheduler(),
    flag: new SettableFlag(options.priorityEnabled ?? false),
    tokens: { verify: () => Promise.reject(new Error('no tokens in use-case tests')) },
    clock: new ManualClock(),
    log: new RecordingLogger(),
    metrics: new RecordingMetrics(),
    priorityWindowSeconds: options.priorityWindowSeconds ?? DEFAULT_PRIORITY_WINDOW_SECONDS,
    routingGuardSeconds: options.routingGuardSeconds ?? DEFAULT_ROUTING_GUARD_SECONDS,
  };
}
