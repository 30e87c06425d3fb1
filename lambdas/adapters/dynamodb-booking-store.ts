/**
 * Bookings and their races. Every lifecycle transition is ONE conditional
 * UpdateItem whose ConditionExpression is built from the transition's guard in
 * lambdas/domain/lifecycle.ts, so two accepts, a decline, the timer and a
 * cancel can run at the same moment and the table decides. Conditions stay
 * flat (`IN` lists, no nesting), which DynamoDB evaluates cheaply: dynalite's
 * parser backtracks through parentheses, so the accept guard costs it ~70 µs
 * of CPU flat against ~4.5 ms for the nested one before the engine rewrite.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent, Booking, BookingSummary, RequestMetadata } from '../domain/booking';
import {
  audienceKey,
  audienceKeysOf,
  type BookingState,
  type Guard,
  type GuardContext,
  type LifecycleEvent,
  PENDING_DEADLINE,
  pendingEntry,
  TRANSITIONS,
} from '../domain/lifecycle';
import type { BookingStore, PendingRequest, TransitionChanges, TransitionOutcome } from '../ports';
import type { IndexName } from '../../contract/table-schema';
import { bookingIndex, isConditionFailure, keys, withoutKeys } from './dynamodb-keys';

interface Expression {
  condition: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/** The guard as a ConditionExpression: each part of lifecycle.ts `Guard`, ANDed. */
export function guardCondition(guard: Guard, context: GuardContext): Expression {
  const names: Record<string, string> = { '#state': 'state' };
  const values: Record<string, unknown> = {};
  const parts: string[] = [];
  const states = guard.from.filter((state) => state !== 'new');
  if (guard.from.includes('new')) parts.push('attribute_not_exists(pk)');
  else {
    states.forEach((state, i) => {
      values[`:from${i}`] = state;
    });
    parts.push(`#state IN (${states.map((_, i) => `:from${i}`).join(', ')})`);
  }
  if (guard.routeTo) {
    parts.push('route_to = :route_to');
    values[':route_to'] = context.routeTo ?? guard.routeTo;
  }
  if (guard.actorInAudience || guard.actorIsAudience) {
    if (!context.actor) throw new Error('this transition needs the acting mechanic');
    const allowed = guard.actorIsAudience ? [audienceKey.mechanic(context.actor.mechanicId)] : audienceKeysOf(context.actor);
    allowed.forEach((key, i) => {
      values[`:audience${i}`] = key;
    });
    parts.push(`audience IN (${allowed.map((_, i) => `:audience${i}`).join(', ')})`);
  }
  if (guard.routingSinceIs) {
    if (context.routingSince === undefined) throw new Error('this transition needs the routing_since the caller read');
    values[':routing_since'] = context.routingSince;
    parts.push('routing_since = :routing_since');
  }
  if (guard.deadlinePassed) {
    names['#deadline'] = guard.deadlinePassed;
    values[':now'] = context.now;
    parts.push('#deadline <= :now');
  }
  return { condition: parts.join(' AND '), names, values };
}

export class DynamoDbBookingStore implements BookingStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(booking: Booking): Promise<{ created: boolean; booking: Booking }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          // Indexed by customer and creation time for the customer's `sync` (`bookings-by-customer`), and while pending by audience.
          Item: {
            ...keys.booking(booking.session_id),
            ...pendingKeys(booking),
            ...booking,
            customer_pk: bookingIndex.customer(booking.customer_id),
            customer_sk: booking.created_at,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, booking };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.get(booking.session_id);
      if (!existing) throw error;
      return { created: false, booking: existing };
    }
  }

  async get(sessionId: string): Promise<Booking | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: keys.booking(sessionId), ConsistentRead: true }));
    return Item ? withoutKeys<Booking>(Item) : undefined;
  }

  async transition(
    sessionId: string,
    event: LifecycleEvent,
    input: { now: string; changes?: TransitionChanges; audit: AuditEvent; guard?: Omit<GuardContext, 'now'> },
  ): Promise<TransitionOutcome> {
    const transition = TRANSITIONS[event];
    const guard = guardCondition(transition.guard, { now: input.now, ...input.guard });
    const { request_metadata: metadata = {}, ...changes } = input.changes ?? {};
    const sets = setClauses({ ...changes, state: transition.to, updated_at: input.now }, metadata);
    const pending = pendingClauses(transition.to, changes);
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.booking(sessionId),
          UpdateExpression: `SET ${[...sets.clauses, ...pending.set, '#events = list_append(#events, :audit)'].join(', ')}${pending.remove}`,
          ConditionExpression: guard.condition,
          ExpressionAttributeNames: { ...guard.names, ...sets.names, ...pending.names, '#events': 'events' },
          ExpressionAttributeValues: { ...guard.values, ...sets.values, ...pending.values, ':audit': [input.audit] },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { applied: true, booking: withoutKeys<Booking>(Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { applied: false, booking: await this.get(sessionId) };
    }
  }

  async record(sessionId: string, audit: AuditEvent, metadata: Partial<RequestMetadata> = {}): Promise<void> {
    const sets = setClauses({}, metadata);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.booking(sessionId),
          UpdateExpression: `SET ${[...sets.clauses, '#events = list_append(#events, :audit)'].join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { ...sets.names, '#events': 'events' },
          ExpressionAttributeValues: { ...sets.values, ':audit': [audit] },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** An upsert (UpdateItem creates the item): a repeated decline leaves one item, with its first time. */
  async noteDecline(sessionId: string, mechanicId: string, at: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.decline(sessionId, mechanicId),
        UpdateExpression: 'SET mechanic_id = :mechanic, declined_at = if_not_exists(declined_at, :at), expires_at_epoch = :expires',
        ExpressionAttributeValues: {
          ':mechanic': mechanicId,
          ':at': at,
          ':expires': Math.floor(Date.parse(at) / 1000) + DECLINE_KEPT_SECONDS,
        },
      }),
    );
  }

  /** One page of the index, newest first: it copies only the status fields (projection INCLUDE), never the audit trail. */
  async listByCustomer(customerId: string, limit: number): Promise<BookingSummary[]> {
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'bookings-by-customer',
        KeyConditionExpression: 'customer_pk = :customer',
        ExpressionAttributeValues: { ':customer': bookingIndex.customer(customerId) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => withoutKeys<BookingSummary>(item));
  }

  async decliners(sessionId: string): Promise<ReadonlySet<string>> {
    const found = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.declinesOf(sessionId) },
          ProjectionExpression: 'mechanic_id',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) found.add(String(item.mechanic_id));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  /**
   * One Query of the sparse `pending-by-audience` index, every page (its sort key is the deadline, so the
   * deadline condition is part of the key condition: nothing past it is read). A GSI is eventually
   * consistent (no ConsistentRead): a request that became pending a moment ago may be missing — its live
   * push reaches the mechanic anyway — and one that ended a moment ago may still be listed.
   */
  async pendingFor(audience: string, now: string): Promise<PendingRequest[]> {
    const found: PendingRequest[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pending_pk = :audience AND pending_sk > :now',
          ExpressionAttributeValues: { ':audience': audience, ':now': now },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) found.push({ ...withoutKeys<Omit<PendingRequest, 'deadline'>>(item), deadline: String(item.pending_sk) });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  /**
   * The mechanic's decline items of these bookings (`noteDecline`), read by key: BatchGetItem, at most 100 keys
   * a call. Consistent reads, so a decline made just before a reconnect counts. Keys DynamoDB leaves
   * unprocessed (throttling) are asked for again after a growing pause, as AWS advises for batch calls.
   */
  async declinedBy(mechanicId: string, sessionIds: readonly string[]): Promise<ReadonlySet<string>> {
    // BatchGetItem refuses a call that names a key twice.
    const unique = [...new Set(sessionIds)];
    const sessionOf = new Map(unique.map((sessionId) => [keys.declinesOf(sessionId), sessionId]));
    const declined = new Set<string>();
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
      let wanted: Record<string, unknown>[] = unique.slice(start, start + BATCH_GET_MAX_KEYS).map((sessionId) => keys.decline(sessionId, mechanicId));
      for (let attempt = 0; wanted.length > 0; attempt++) {
        if (attempt === BATCH_GET_MAX_ATTEMPTS) throw new Error(`BatchGetItem left ${wanted.length} decline keys unprocessed after ${attempt} attempts`);
        if (attempt > 0) await sleep(BATCH_GET_RETRY_BASE_MS * 2 ** (attempt - 1));
        const answer = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: wanted, ProjectionExpression: 'pk', ConsistentRead: true } } }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) declined.add(sessionOf.get(String(item.pk))!);
        wanted = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return declined;
  }
}

const PENDING_INDEX = 'pending-by-audience' satisfies IndexName;
/** BatchGetItem's limit of keys per call. */
const BATCH_GET_MAX_KEYS = 100;
/** Unprocessed keys are asked for again this many times in all, pausing 50, 100, 200 … ms between. */
const BATCH_GET_MAX_ATTEMPTS = 6;
const BATCH_GET_RETRY_BASE_MS = 50;

/** The `pending-by-audience` index keys of a booking stored whole (create): present exactly while it is pending. */
function pendingKeys(booking: Booking): { pending_pk?: string; pending_sk?: string } {
  const entry = pendingEntry(booking);
  return entry ? { pending_pk: entry.audience, pending_sk: entry.deadline } : {};
}

/**
 * The `pending-by-audience` index keys, in the transition's own write: entering `offered` or `open`
 * sets them to the audience and that state's deadline (lifecycle.ts PENDING_DEADLINE); entering any
 * other state removes them. A SET operand reads the item as it was before the write, so a value this
 * write changes comes from `changes`, and one it keeps is read from the item (`offer_sent` and `opened`
 * keep the `audience` their routing set).
 */
function pendingClauses(to: BookingState, changes: TransitionChanges) {
  const field = PENDING_DEADLINE[to];
  if (!field) return { set: [], remove: ' REMOVE pending_pk, pending_sk', names: {}, values: {} };
  const names: Record<string, string> = { '#pending_pk': 'pending_pk', '#pending_sk': 'pending_sk' };
  const values: Record<string, unknown> = {};
  // DynamoDB refuses a name or value the expression does not use: each operand declares only its own.
  const operand = (attribute: 'audience' | typeof field, changed: string | null | undefined): string => {
    if (changed === undefined) {
      names[`#pending_${attribute}`] = attribute;
      return `#pending_${attribute}`;
    }
    values[`:pending_${attribute}`] = changed;
    return `:pending_${attribute}`;
  };
  const set = [`#pending_pk = ${operand('audience', changes.audience)}`, `#pending_sk = ${operand(field, changes[field])}`];
  return { set, remove: '', names, values };
}

/** DynamoDB's TTL removes a decline a week after it was made: long after any request it was about has ended. */
const DECLINE_KEPT_SECONDS = 7 * 24 * 3600;

/** `SET #f0 = :f0, …` for top-level fields and `#request_metadata.#m0 = :m0, …` for metadata fields; undefined ones are skipped. */
function setClauses(fields: Record<string, unknown>, metadata: Partial<RequestMetadata>) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const clauses: string[] = [];
  Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .forEach(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:f${i}`] = value;
      clauses.push(`#f${i} = :f${i}`);
    });
  const metadataFields = Object.entries(metadata).filter(([, value]) => value !== undefined);
  if (metadataFields.length) names['#request_metadata'] = 'request_metadata';
  metadataFields.forEach(([name, value], i) => {
    names[`#m${i}`] = name;
    values[`:m${i}`] = value;
    clauses.push(`#request_metadata.#m${i} = :m${i}`);
  });
  return { names, values, clauses };
}
