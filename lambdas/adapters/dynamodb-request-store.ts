/**
 * Requests and their races. Every state change is ONE conditional UpdateItem,
 * so two accepts, a fallback and a cancel can run at the same moment and the
 * table decides. The conditions mirror the pure rules in domain/request.ts.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent, DispatchRequest, FallbackReason, RequestMetadata } from '../domain/request';
import type { MatchOutcome, RequestStore } from '../ports';
import { isConditionFailure, keys, withoutKeys } from './dynamodb-keys';

type UpdateInput = ConstructorParameters<typeof UpdateCommand>[0];

const NAMES = { '#status': 'status', '#routing': 'routing', '#metadata': 'metadata', '#events': 'events' };

export class DynamoDbRequestStore implements RequestStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(request: DispatchRequest): Promise<{ created: boolean; request: DispatchRequest }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.request(request.request_id), ...request },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, request };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.get(request.request_id);
      if (!existing) throw error;
      return { created: false, request: existing };
    }
  }

  async get(requestId: string): Promise<DispatchRequest | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: keys.request(requestId), ConsistentRead: true }));
    return Item ? withoutKeys<DispatchRequest>(Item) : undefined;
  }

  async record(requestId: string, metadata: Partial<RequestMetadata>, event: AuditEvent): Promise<void> {
    const fields = Object.entries(metadata).filter(([, value]) => value !== undefined);
    const sets = fields.map((_, i) => `#metadata.#m${i} = :m${i}`);
    await this.update(requestId, {
      UpdateExpression: `SET ${[...sets, '#events = list_append(#events, :event)'].join(', ')}`,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: {
        '#events': 'events',
        ...(fields.length ? { '#metadata': 'metadata' } : {}),
        ...Object.fromEntries(fields.map(([name], i) => [`#m${i}`, name])),
      },
      ExpressionAttributeValues: { ':event': [event], ...Object.fromEntries(fields.map(([, value], i) => [`:m${i}`, value])) },
    });
  }

  async match(requestId: string, acceptor: { mechanicId: string; workshopId: string | null }, at: string): Promise<MatchOutcome> {
    const allowed = [
      '#routing = :broadcast',
      '(#routing = :priority AND (preferred_mechanic_id = :mechanic OR attribute_exists(#metadata.fallback_broadcast_at)))',
      ...(acceptor.workshopId ? ['(#routing = :workshop_routing AND workshop_id = :workshop_id)'] : []),
    ];
    const matched = await this.update(requestId, {
      UpdateExpression: 'SET #status = :matched, mechanic_id = :mechanic, matched_at = :at, #events = list_append(#events, :event)',
      ConditionExpression: `#status = :pending AND (${allowed.join(' OR ')})`,
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: {
        ':pending': 'pending',
        ':matched': 'matched',
        ':broadcast': 'broadcast',
        ':priority': 'priority',
        ':mechanic': acceptor.mechanicId,
        ':at': at,
        ':event': [{ at, type: 'accepted', mechanic_id: acceptor.mechanicId }],
        ...(acceptor.workshopId ? { ':workshop_routing': 'workshop', ':workshop_id': acceptor.workshopId } : {}),
      },
    });
    return matched ? { matched: true, request: matched } : { matched: false, request: await this.get(requestId) };
  }

  async claimFallback(requestId: string, reason: FallbackReason, at: string): Promise<DispatchRequest | undefined> {
    return this.update(requestId, {
      UpdateExpression: 'SET #metadata.fallback_broadcast_at = :at, #metadata.fallback_reason = :reason, #events = list_append(#events, :event)',
      ConditionExpression: '#status = :pending AND #routing = :priority AND attribute_not_exists(#metadata.fallback_broadcast_at)',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: {
        ':pending': 'pending',
        ':priority': 'priority',
        ':at': at,
        ':reason': reason,
        ':event': [{ at, type: 'fallback_started', reason }],
      },
    });
  }

  async releaseFallback(requestId: string, claimedAt: string, event: AuditEvent): Promise<void> {
    await this.update(requestId, {
      UpdateExpression: 'REMOVE #metadata.fallback_broadcast_at, #metadata.fallback_reason SET #events = list_append(#events, :event)',
      ConditionExpression: '#metadata.fallback_broadcast_at = :claimed_at',
      ExpressionAttributeNames: { '#metadata': 'metadata', '#events': 'events' },
      ExpressionAttributeValues: { ':claimed_at': claimedAt, ':event': [event] },
    });
  }

  async cancel(requestId: string, at: string): Promise<DispatchRequest | undefined> {
    return this.update(requestId, {
      UpdateExpression: 'SET #status = :cancelled, cancelled_at = :at, #events = list_append(#events, :event)',
      ConditionExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status', '#events': 'events' },
      ExpressionAttributeValues: { ':pending': 'pending', ':cancelled': 'cancelled', ':at': at, ':event': [{ at, type: 'cancelled' }] },
    });
  }

  /** One conditional UpdateItem; undefined when its condition did not hold (the item is never created by it). */
  private async update(requestId: string, expression: Omit<UpdateInput, 'TableName' | 'Key'>): Promise<DispatchRequest | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({ TableName: this.tableName, Key: keys.request(requestId), ReturnValues: 'ALL_NEW', ...expression }),
      );
      return Attributes ? withoutKeys<DispatchRequest>(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}
