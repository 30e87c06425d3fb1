/**
 * The DynamoDB adapters on dynalite (real conditional writes and index
 * queries) against the store contract, the same suite the in-memory stores
 * pass in test/unit/in-memory-stores.test.ts. A fresh table per test, so
 * "every connection" means exactly the test's own.
 */
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb-request-store';
import { DynamoDbSessionStore } from '../../lambdas/adapters/dynamodb-session-store';
import { describeStoreContract } from '../support/store-contract';
import { createTestTable } from '../support/table';

describeStoreContract('DynamoDB adapters on dynalite', async () => {
  const { db, tableName } = await createTestTable();
  return {
    sessions: new DynamoDbSessionStore(db, tableName),
    requests: new DynamoDbRequestStore(db, tableName),
    mechanics: new DynamoDbMechanicStore(db, tableName),
    connections: new DynamoDbConnectionStore(db, tableName),
  };
});
