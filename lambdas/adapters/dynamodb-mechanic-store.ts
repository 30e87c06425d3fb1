import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Mechanic, MechanicProfile } from '../domain/mechanic';
import type { MechanicStore } from '../ports';
import { isConditionFailure, keys, withoutKeys } from './dynamodb-keys';

export class DynamoDbMechanicStore implements MechanicStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(mechanicId: string): Promise<Mechanic | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: keys.mechanic(mechanicId), ConsistentRead: true }));
    return Item ? withoutKeys<Mechanic>(Item) : undefined;
  }

  /** An UpdateItem, not a Put: the admin's write must not undo a pause the mechanic made meanwhile. */
  async put(profile: MechanicProfile): Promise<Mechanic> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.mechanic(profile.mechanic_id),
        UpdateExpression:
          'SET mechanic_id = :id, #status = :status, #name = :name, workshop_id = :workshop, updated_at = :at, paused = if_not_exists(paused, :no)',
        ExpressionAttributeNames: { '#status': 'status', '#name': 'name' },
        ExpressionAttributeValues: {
          ':id': profile.mechanic_id,
          ':status': profile.status,
          ':name': profile.name,
          ':workshop': profile.workshop_id,
          ':at': profile.updated_at,
          ':no': false,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return withoutKeys<Mechanic>(Attributes!);
  }

  async setPaused(mechanicId: string, paused: boolean, at: string): Promise<Mechanic | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.mechanic(mechanicId),
          UpdateExpression: 'SET paused = :paused, paused_at = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':paused': paused, ':at': at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return withoutKeys<Mechanic>(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}
