/** A fresh table (from the real schema) on the run's dynalite, and a document client for it. */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createTableInput } from '../../contract/table-schema';

export interface TestTable {
  readonly tableName: string;
  readonly endpoint: string;
  readonly db: DynamoDBDocumentClient;
}

export const testCredentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export async function createTestTable(): Promise<TestTable> {
  const endpoint = inject('dynamoEndpoint');
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: testCredentials });
  const tableName = `test-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  // dynalite answers CreateTable before the table is ACTIVE; writes before that fail.
  await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.1 }, { TableName: tableName });
  const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { tableName, endpoint, db };
}
