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
import {
  DEFAULT_MESSAGE_RATE_LIMIT,
  DEFAULT_PRIORITY_WINDOW_SECONDS,
  DEFAULT_RECOVERY_DELAY_SECONDS,
  DEFAULT_REQUEST_TTL_SECONDS,
  DEFAULT_WS_TICKET_TTL_SECONDS,
} from '../../contract/env';
import type { MetricName } from '../../contract/metrics';
import { CONNECTION_SHARDS } from '../../contract/table-schema';
import type { Audience, AuditEvent, Booking, BookingSummary, RequestMetadata } from '../../lambdas/domain/booking';
import type { CustomerConnection } from '../../lambdas/domain/customer';
import { timerScheduleName } from '../../lambdas/domain/ids';
import { type GuardContext, guardHolds, type LifecycleEvent, pendingEntry, TRANSITIONS } from '../../lambdas/domain/lifecycle';
import type { Connection, Mechanic, MechanicProfile } from '../../lambdas/domain/mechanic';
import type { ServerMessage } from '../../lambdas/domain/messages';
import type { Ticket } from '../../lambdas/domain/tickets';
import type {
  BookingStore,
  Clock,
  ConnectionStore,
  FanOut,
  FeatureFlag,
  LogFields,
  Logger,
  MechanicStore,
  MessageCount,
  Metrics,
  OpenBookings,
  PendingRequest,
  PushResult,
  Pusher,
  RequestTimer,
  TicketStore,
  TransitionChanges,
  TransitionOutcome,
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

  /** Durations, kept apart: CloudWatch averages them, it does not sum them. */
  readonly measured: { name: MetricName; value: number }[] = [];

  milliseconds(name: MetricName, value: number): void {
    this.measured.push({ name, value });
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
  /** A wait inside an invocation passes at once, moving the clock. */
  async sleep(ms: number): Promise<void> {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/**
 * DynamoDbBookingStore: a transition applies when its guard holds —
 * `guardHolds` is the plain-code twin of the adapter's ConditionExpression,
 * and the store contract runs both on the same cases.
 */
export class InMemoryBookingStore implements BookingStore {
  private readonly items = new Map<string, Booking>();
  private readonly declines = new Map<string, Set<string>>();

  async create(booking: Booking): Promise<{ created: boolean; booking: Booking }> {
    const existing = this.items.get(booking.session_id);
    if (existing) return { created: false, booking: structuredClone(existing) };
    return { created: true, booking: this.save(booking) };
  }

  async get(sessionId: string): Promise<Booking | undefined> {
    const booking = this.items.get(sessionId);
    return booking && structuredClone(booking);
  }

  async transition(
    sessionId: string,
    event: LifecycleEvent,
    input: { now: string; changes?: TransitionChanges; audit: AuditEvent; guard?: Omit<GuardContext, 'now'> },
  ): Promise<TransitionOutcome> {
    const booking = this.items.get(sessionId);
    const transition = TRANSITIONS[event];
    if (!booking || !guardHolds(transition.guard, booking, { now: input.now, ...input.guard }))
      return { applied: false, booking: booking && structuredClone(booking) };
    const { request_metadata: metadata = {}, ...changes } = input.changes ?? {};
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    return {
      applied: true,
      booking: this.save({
        ...booking,
        ...defined,
        state: transition.to,
        updated_at: input.now,
        request_metadata: { ...booking.request_metadata, ...withoutUndefined(metadata) },
        events: [...booking.events, input.audit],
      }),
    };
  }

  async record(sessionId: string, audit: AuditEvent, metadata: Partial<RequestMetadata> = {}): Promise<void> {
    const booking = this.items.get(sessionId);
    if (!booking) return;
    this.save({ ...booking, request_metadata: { ...booking.request_metadata, ...withoutUndefined(metadata) }, events: [...booking.events, audit] });
  }

  async noteDecline(sessionId: string, mechanicId: string): Promise<void> {
    this.declines.set(sessionId, new Set([...(this.declines.get(sessionId) ?? []), mechanicId]));
  }

  async decliners(sessionId: string): Promise<ReadonlySet<string>> {
    return new Set(this.declines.get(sessionId) ?? []);
  }

  /** The `pending-by-audience` index as the adapter keeps it: each booking's `pendingEntry`, soonest deadline first. */
  async pendingFor(audience: string, now: string): Promise<PendingRequest[]> {
    return [...this.items.values()]
      .map((booking) => ({ booking, entry: pendingEntry(booking) }))
      .filter(({ entry }) => entry?.audience === audience && entry.deadline > now)
      .sort((a, b) => (a.entry!.deadline < b.entry!.deadline ? -1 : a.entry!.deadline > b.entry!.deadline ? 1 : 0))
      .map(({ booking: { request_id, session_id, state, concern, vehicle, expires_at, open_until }, entry }) =>
        structuredClone({ request_id, session_id, state, concern, vehicle, expires_at, open_until, deadline: entry!.deadline }),
      );
  }

  async declinedBy(mechanicId: string, sessionIds: readonly string[]): Promise<ReadonlySet<string>> {
    return new Set(sessionIds.filter((sessionId) => this.declines.get(sessionId)?.has(mechanicId)));
  }

  /** What the `bookings-by-customer` index copies of each booking, newest first. */
  async listByCustomer(customerId: string, limit: number): Promise<BookingSummary[]> {
    return [...this.items.values()]
      .filter((b) => b.customer_id === customerId)
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))
      .slice(0, limit)
      .map(({ session_id, request_id, state, audience, mechanic_id, expires_at, open_until }) => ({
        session_id,
        request_id,
        state,
        audience,
        mechanic_id,
        expires_at,
        open_until,
      }));
  }

  /** Every stored booking (tests look at all of them). */
  all(): Booking[] {
    return [...this.items.values()].map((b) => structuredClone(b));
  }

  private save(booking: Booking): Booking {
    this.items.set(booking.session_id, structuredClone(booking));
    return structuredClone(booking);
  }
}

const withoutUndefined = <T extends object>(value: T): Partial<T> => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

/** DynamoDbOpenBookings: each method is the adapter's one conditional UpdateItem written as plain ifs. */
export class InMemoryOpenBookings implements OpenBookings {
  private readonly lists = new Map<string, { sessionIds: Set<string>; lastHeldAt: string }>();

  async hold(customerId: string, sessionId: string, max: number, at: string): Promise<boolean> {
    const held = this.lists.get(customerId)?.sessionIds ?? new Set<string>();
    if (!(held.size < max || held.has(sessionId))) return false;
    this.lists.set(customerId, { sessionIds: new Set([...held, sessionId]), lastHeldAt: at });
    return true;
  }

  async release(customerId: string, sessionId: string): Promise<void> {
    this.lists.get(customerId)?.sessionIds.delete(sessionId);
  }

  async read(customerId: string): Promise<{ sessionIds: string[]; lastHeldAt: string | null }> {
    const list = this.lists.get(customerId);
    return { sessionIds: [...(list?.sessionIds ?? [])], lastHeldAt: list?.lastHeldAt ?? null };
  }

  async forget(customerId: string, sessionIds: readonly string[], lastHeldAt: string): Promise<boolean> {
    const list = this.lists.get(customerId);
    if (list?.lastHeldAt !== lastHeldAt) return false;
    for (const sessionId of sessionIds) list.sessionIds.delete(sessionId);
    return true;
  }
}

/** DynamoDbTicketStore: `take` removes the ticket when it exists and has not expired, in one step. */
export class InMemoryTicketStore implements TicketStore {
  private readonly items = new Map<string, Ticket>();

  async put(hash: string, ticket: Ticket): Promise<void> {
    if (this.items.has(hash)) throw new Error('ConditionalCheckFailedException: a ticket with this hash exists');
    this.items.set(hash, { ...ticket });
  }

  async take(hash: string, now: string): Promise<Ticket | undefined> {
    const ticket = this.items.get(hash);
    if (!ticket || ticket.expires_at <= now) return undefined;
    this.items.delete(hash);
    return { ...ticket };
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

  async put(profile: MechanicProfile): Promise<Mechanic> {
    const before = this.items.get(profile.mechanic_id);
    const mechanic: Mechanic = { ...structuredClone(profile), paused: before?.paused ?? false, ...(before?.paused_at ? { paused_at: before.paused_at } : {}) };
    this.items.set(profile.mechanic_id, mechanic);
    return structuredClone(mechanic);
  }

  async setPaused(mechanicId: string, paused: boolean, at: string): Promise<Mechanic | undefined> {
    const mechanic = this.items.get(mechanicId);
    if (!mechanic) return undefined;
    const changed = { ...mechanic, paused, paused_at: at };
    this.items.set(mechanicId, changed);
    return structuredClone(changed);
  }
}

/**
 * DynamoDbConnectionStore. Each listing is one page, sorted by connection id
 * as an index query's sort key orders it; the adapter spreads connections over
 * shards, so only the set of connections is the contract.
 */
export class InMemoryConnectionStore implements ConnectionStore {
  readonly shards = CONNECTION_SHARDS;
  private readonly items = new Map<string, Connection>();
  /** Apart from the mechanics' connections: no listing but `listByCustomer` finds them. */
  private readonly customers = new Map<string, CustomerConnection>();
  /** Messages counted, by `connection#second`. */
  private readonly messageCounts = new Map<string, number>();

  async put(connection: Connection): Promise<void> {
    this.items.set(connection.connection_id, structuredClone(connection));
  }

  async putCustomer(connection: CustomerConnection): Promise<void> {
    this.customers.set(connection.connection_id, structuredClone(connection));
  }

  async listByCustomer(customerId: string): Promise<CustomerConnection[]> {
    return [...this.customers.values()]
      .filter((c) => c.customer_id === customerId)
      .sort((a, b) => (a.connection_id < b.connection_id ? -1 : 1))
      .map((c) => structuredClone(c));
  }

  async delete(connectionId: string): Promise<void> {
    this.items.delete(connectionId);
    this.customers.delete(connectionId);
  }

  async listByMechanic(mechanicId: string): Promise<Connection[]> {
    return this.matching((c) => c.mechanic_id === mechanicId);
  }

  /** Only a connection with a (non-empty) workshop is in the workshop index. */
  async *listByWorkshop(workshopId: string): AsyncIterable<Connection[]> {
    yield this.matching((c) => !!c.workshop_id && c.workshop_id === workshopId);
  }

  /** The shard a connection lands in does not matter here: every connection is in shard 0, the others are empty. */
  async *listByShard(shard: number): AsyncIterable<Connection[]> {
    yield shard === 0 ? this.matching(() => true) : [];
  }

  /** `attribute_exists(pk)`: a connection gone meanwhile is not brought back. An empty id is stored as null, as the adapter does. */
  async setWorkshop(connectionId: string, workshopId: string | null): Promise<void> {
    const connection = this.items.get(connectionId);
    if (!connection) return;
    this.items.set(connectionId, { ...connection, workshop_id: workshopId ? workshopId : null });
  }

  async setPaused(connectionId: string, paused: boolean): Promise<void> {
    const connection = this.items.get(connectionId);
    if (connection) this.items.set(connectionId, { ...connection, paused });
  }

  /** The adapter's conditional ADD: no count past `limit + 1`. */
  async countMessage(connectionId: string, second: number, limit: number): Promise<MessageCount> {
    const key = `${connectionId}#${second}`;
    const counted = this.messageCounts.get(key) ?? 0;
    if (counted > limit) return 'over_again';
    this.messageCounts.set(key, counted + 1);
    return counted + 1 <= limit ? 'within' : 'over';
  }

  private matching(test: (connection: Connection) => boolean): Connection[] {
    return [...this.items.values()]
      .filter(test)
      .sort((a, b) => (a.connection_id < b.connection_id ? -1 : 1))
      .map((c) => structuredClone(c));
  }
}

/**
 * SignedConnectionsPusher as `@connections` answers it: a message sent is recorded
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

/** A request's timer as EventBridgeRequestTimer leaves it: due when, under what schedule name. */
export interface RecordedTimer {
  readonly name: string;
  readonly requestId: string;
  /** Its deadline (ISO 8601 UTC): the `due_at` the function gets. */
  readonly due: string;
}

/** EventBridgeRequestTimer: one timer per request, set (created or moved) and cleared by name. `failSets` makes every set throw. */
export class RecordingTimer implements RequestTimer {
  private readonly live = new Map<string, RecordedTimer>();
  /** Every set call, in order. */
  readonly sets: RecordedTimer[] = [];
  /** The request id of every clear call, in order. */
  readonly clears: string[] = [];
  failSets = false;

  async set(requestId: string, due: Date, _hint: 'new' | 'existing'): Promise<void> {
    if (this.failSets) throw Object.assign(new Error(`Schedule group does not exist (${requestId})`), { name: 'ResourceNotFoundException' });
    const timer = { name: timerScheduleName(requestId), requestId, due: due.toISOString() };
    this.live.set(requestId, timer);
    this.sets.push(structuredClone(timer));
  }

  async clear(requestId: string): Promise<void> {
    this.clears.push(requestId);
    this.live.delete(requestId);
  }

  async isSet(requestId: string): Promise<boolean> {
    return this.live.has(requestId);
  }

  /** The request's timer while it is set. */
  timer(requestId: string): RecordedTimer | undefined {
    const found = this.live.get(requestId);
    return found && structuredClone(found);
  }

  timers(): RecordedTimer[] {
    return [...this.live.values()].map((t) => structuredClone(t));
  }
}

/** LambdaFanOut: what was handed to the fan-out function, in order. `failSends` makes every hand-over throw. */
export class RecordingFanOut implements FanOut {
  readonly sent: { requestId: string; audience: Audience; message: ServerMessage; exceptConnectionId?: string }[] = [];
  failSends = false;

  async send(requestId: string, audience: Audience, message: ServerMessage, options: { exceptConnectionId?: string } = {}): Promise<void> {
    if (this.failSends) throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    this.sent.push(structuredClone({ requestId, audience, message, ...options }));
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
  readonly bookings: InMemoryBookingStore;
  readonly mechanics: InMemoryMechanicStore;
  readonly connections: InMemoryConnectionStore;
  readonly openBookings: InMemoryOpenBookings;
  readonly tickets: InMemoryTicketStore;
  readonly pusher: RecordingPusher;
  readonly fanOut: RecordingFanOut;
  readonly timer: RecordingTimer;
  readonly flag: SettableFlag;
  readonly clock: ManualClock;
  readonly log: RecordingLogger;
  readonly metrics: RecordingMetrics;
}

/**
 * A full set of in-memory deps on a fresh ManualClock, with the stack's defaults for the windows; the open-bookings
 * limit is generous (TEST_MAX_OPEN_BOOKINGS) unless a test of the limit sets it.
 */
export function inMemoryDeps(
  options: {
    priorityEnabled?: boolean;
    priorityWindowSeconds?: number;
    recoveryDelaySeconds?: number;
    requestTtlSeconds?: number;
    messageRateLimit?: number;
    maxOpenBookingsPerCustomer?: number;
  } = {},
): InMemoryDeps {
  return {
    bookings: new InMemoryBookingStore(),
    mechanics: new InMemoryMechanicStore(),
    connections: new InMemoryConnectionStore(),
    openBookings: new InMemoryOpenBookings(),
    tickets: new InMemoryTicketStore(),
    pusher: new RecordingPusher(),
    fanOut: new RecordingFanOut(),
    timer: new RecordingTimer(),
    flag: new SettableFlag(options.priorityEnabled ?? false),
    tokens: { verify: () => Promise.reject(new Error('no tokens in use-case tests')) },
    clock: new ManualClock(),
    log: new RecordingLogger(),
    metrics: new RecordingMetrics(),
    priorityWindowSeconds: options.priorityWindowSeconds ?? DEFAULT_PRIORITY_WINDOW_SECONDS,
    recoveryDelaySeconds: options.recoveryDelaySeconds ?? DEFAULT_RECOVERY_DELAY_SECONDS,
    requestTtlSeconds: options.requestTtlSeconds ?? DEFAULT_REQUEST_TTL_SECONDS,
    messageRateLimit: options.messageRateLimit ?? DEFAULT_MESSAGE_RATE_LIMIT,
    maxOpenBookingsPerCustomer: options.maxOpenBookingsPerCustomer ?? TEST_MAX_OPEN_BOOKINGS,
    ticketTtlSeconds: DEFAULT_WS_TICKET_TTL_SECONDS,
  };
}

/** Tests that are not about the open-bookings limit book freely for one customer; the limit's own tests set theirs. */
export const TEST_MAX_OPEN_BOOKINGS = 100;
