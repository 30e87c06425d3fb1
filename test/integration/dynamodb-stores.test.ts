/**
 * The DynamoDB adapters on dynalite (real conditional writes and index
 * queries) against the store contract, the same suite the in-memory stores
 * pass in test/unit/in-memory-stores.test.ts. A fresh table per test, so
 * "every connection" means exactly the test's own.
 */
import { DynamoDbBookingStore } from '../../lambdas/adapters/dynamodb-booking-store';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { describeStoreContract } from '../support/store-contract';
import { createTestTable } from '../support/table';

describeStoreContract('DynamoDB adapters on dynalite', async () => {
  const { db, tableName } = await createTestTable();
  return {
    bookings: new DynamoDbBookingStore(db, tableName),
    mechanics: new DynamoDbMechanicStore(db, tableName),
    connections: new DynamoDbConnectionStore(db, tableName),
  };
});
