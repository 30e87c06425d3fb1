import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_SHARDS, type IndexName } from '../../contract/table-schema';
import type { CustomerConnection } from '../domain/customer';
import type { Connection } from '../domain/mechanic';
import type { ConnectionStore, MessageCount } from '../ports';
import { connectionIndex, isConditionFailure, keys, withoutKeys } from './dynamodb-keys';

/** API Gateway closes a WebSocket after 2 hours; a connection item lives a little longer, then TTL sweeps it. */
const CONNECTION_TTL_SECONDS = 3 * 60 * 60;
const expiresAtEpoch = (connectedAt: string): number => Math.floor(Date.parse(connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
/** A second's message count is read only during that second; TTL sweeps it a while later. */
const MESSAGE_COUNT_TTL_SECONDS = 60;

export class DynamoDbConnectionStore implements ConnectionStore {
  readonly shards = CONNECTION_SHARDS;
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(connection: Connection): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.connection(connection.connection_id),
          ...connection,
          mechanic_pk: connectionIndex.mechanic(connection.mechanic_id),
          shard_pk: connectionIndex.shard(connectionIndex.shardOf(connection.connection_id)),
          ...(connection.workshop_id ? { workshop_pk: connectionIndex.workshop(connection.workshop_id) } : {}),
          connection_sk: connection.connection_id,
          expires_at_epoch: expiresAtEpoch(connection.connected_at),
        },
      }),
    );
  }

  async putCustomer(connection: CustomerConnection): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.connection(connection.connection_id),
          ...connection,
          mechanic_pk: connectionIndex.customer(connection.customer_id),
          connection_sk: connection.connection_id,
          expires_at_epoch: expiresAtEpoch(connection.connected_at),
        },
      }),
    );
  }

  async listByCustomer(customerId: string): Promise<CustomerConnection[]> {
    const all: CustomerConnection[] = [];
    for await (const page of this.query<CustomerConnection>('connections-by-mechanic', 'mechanic_pk', connectionIndex.customer(customerId))) all.push(...page);
    return all;
  }

  async delete(connectionId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: keys.connection(connectionId) }));
  }

  async listByMechanic(mechanicId: string): Promise<Connection[]> {
    const all: Connection[] = [];
    for await (const page of this.query<Connection>('connections-by-mechanic', 'mechanic_pk', connectionIndex.mechanic(mechanicId))) all.push(...page);
    return all;
  }

  listByWorkshop(workshopId: string): AsyncIterable<Connection[]> {
    return this.query<Connection>('connections-by-workshop', 'workshop_pk', connectionIndex.workshop(workshopId));
  }

  listByShard(shard: number): AsyncIterable<Connection[]> {
    return this.query<Connection>('connections-by-shard', 'shard_pk', connectionIndex.shard(shard));
  }

  async setWorkshop(connectionId: string, workshopId: string | null): Promise<void> {
    const update = workshopId
      ? {
          UpdateExpression: 'SET workshop_id = :w, workshop_pk = :wpk',
          ExpressionAttributeValues: { ':w': workshopId, ':wpk': connectionIndex.workshop(workshopId) },
        }
      : { UpdateExpression: 'SET workshop_id = :w REMOVE workshop_pk', ExpressionAttributeValues: { ':w': null } };
    try {
      await this.db.send(
        new UpdateCommand({ TableName: this.tableName, Key: keys.connection(connectionId), ConditionExpression: 'attribute_exists(pk)', ...update }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // disconnected meanwhile: nothing to update
    }
  }

  async setPaused(connectionId: string, paused: boolean): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.connection(connectionId),
          UpdateExpression: 'SET paused = :paused',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':paused': paused },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // disconnected meanwhile: nothing to update
    }
  }

  /**
   * `ADD messages :one` on the second's own item (created by the first message of that second), refused once the
   * count is past `limit`: the write that makes it `limit + 1` is the first one over, later ones fail the condition.
   */
  async countMessage(connectionId: string, second: number, limit: number): Promise<MessageCount> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.messageCount(connectionId, second),
          UpdateExpression: 'ADD messages :one SET expires_at_epoch = :expires',
          ConditionExpression: 'attribute_not_exists(messages) OR messages <= :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expires': second + MESSAGE_COUNT_TTL_SECONDS },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return (Attributes?.messages as number) <= limit ? 'within' : 'over';
    } catch (error) {
      if (isConditionFailure(error)) return 'over_again';
      throw error;
    }
  }

  private async *query<T>(indexName: IndexName, keyName: string, keyValue: string): AsyncIterable<T[]> {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: indexName,
          KeyConditionExpression: '#k = :k',
          ExpressionAttributeNames: { '#k': keyName },
          ExpressionAttributeValues: { ':k': keyValue },
          ExclusiveStartKey,
        }),
      );
      yield (page.Items ?? []).map((item) => withoutKeys<T>(item));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
}
