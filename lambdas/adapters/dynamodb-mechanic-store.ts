import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Mechanic } from '../domain/mechanic';
import type { MechanicStore } from '../ports';
import { keys, withoutKeys } from './dynamodb-keys';

export class DynamoDbMechanicStore implements MechanicStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(mechanicId: string): Promise<Mechanic | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: keys.mechanic(mechanicId), ConsistentRead: true }));
    return Item ? withoutKeys<Mechanic>(Item) : undefined;
  }

  async put(mechanic: Mechanic): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { ...keys.mechanic(mechanic.mechanic_id), ...mechanic } }));
  }
}
