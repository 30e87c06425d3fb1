/**
 * The sessions each customer holds open, as one item per customer with a
 * string set (`open_sessions`): every change is ONE UpdateItem, so the limit
 * is decided by the table however many intakes run at once. Set operations
 * (`ADD`, `DELETE`) are idempotent, which makes a retried hold or a repeated
 * release harmless. DynamoDB drops a set's attribute when its last element
 * goes, hence `attribute_not_exists` for "none held".
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { OpenBookings } from '../ports';
import { isConditionFailure, keys } from './dynamodb-keys';

export class DynamoDbOpenBookings implements OpenBookings {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async hold(customerId: string, sessionId: string, max: number, at: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.openBookings(customerId),
          UpdateExpression: 'ADD open_sessions :session SET last_held_at = :at',
          ConditionExpression: 'attribute_not_exists(open_sessions) OR size(open_sessions) < :max OR contains(open_sessions, :id)',
          ExpressionAttributeValues: { ':session': new Set([sessionId]), ':id': sessionId, ':max': max, ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Conditioned on the session being listed, so a release of one not held writes nothing (and creates no item). */
  async release(customerId: string, sessionId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.openBookings(customerId),
          UpdateExpression: 'DELETE open_sessions :session',
          ConditionExpression: 'contains(open_sessions, :id)',
          ExpressionAttributeValues: { ':session': new Set([sessionId]), ':id': sessionId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async read(customerId: string): Promise<{ sessionIds: string[]; lastHeldAt: string | null }> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: keys.openBookings(customerId), ConsistentRead: true }));
    const held = Item?.open_sessions as Set<string> | undefined;
    return { sessionIds: [...(held ?? [])], lastHeldAt: (Item?.last_held_at as string | undefined) ?? null };
  }

  async forget(customerId: string, sessionIds: readonly string[], lastHeldAt: string): Promise<boolean> {
    if (sessionIds.length === 0) return true;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.openBookings(customerId),
          UpdateExpression: 'DELETE open_sessions :sessions',
          ConditionExpression: 'last_held_at = :seen',
          ExpressionAttributeValues: { ':sessions': new Set(sessionIds), ':seen': lastHeldAt },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
