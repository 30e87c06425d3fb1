import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Session } from '../domain/session';
import type { SessionStore } from '../ports';
import { isConditionFailure, keys, withoutKeys } from './dynamodb-keys';

export class DynamoDbSessionStore implements SessionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(session: Session): Promise<{ created: boolean; session: Session }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.session(session.session_id), ...session },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, session };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.get(session.session_id);
      if (!existing) throw error;
      return { created: false, session: existing };
    }
  }

  async get(sessionId: string): Promise<Session | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: keys.session(sessionId), ConsistentRead: true }));
    return Item ? withoutKeys<Session>(Item) : undefined;
  }

  async markFulfilled(sessionId: string, requestId: string, at: string): Promise<Session | undefined> {
    return this.update(sessionId, {
      UpdateExpression: 'SET #status = :fulfilled, request_id = :request_id, updated_at = :at',
      ConditionExpression: 'attribute_exists(pk) AND #status <> :cancelled',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':fulfilled': 'fulfilled', ':cancelled': 'cancelled', ':request_id': requestId, ':at': at },
    });
  }

  async markCancelled(sessionId: string, at: string): Promise<Session | undefined> {
    return this.update(sessionId, {
      UpdateExpression: 'SET #status = :cancelled, updated_at = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':cancelled': 'cancelled', ':at': at },
    });
  }

  private async update(
    sessionId: string,
    expression: Pick<
      ConstructorParameters<typeof UpdateCommand>[0],
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<Session | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({ TableName: this.tableName, Key: keys.session(sessionId), ReturnValues: 'ALL_NEW', ...expression }),
      );
      return Attributes ? withoutKeys<Session>(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}
