/**
 * The DynamoDB adapters on dynalite (real conditional writes and index
 * queries) against the store contract, the same suite the in-memory stores
 * pass in test/unit/in-memory-stores.test.ts. A fresh table per test, so
 * "every connection" means exactly the test's own.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbBookingStore } from '../../lambdas/adapters/dynamodb-booking-store';
import { bookingIndex, connectionIndex } from '../../lambdas/adapters/dynamodb-keys';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { DynamoDbOpenBookings } from '../../lambdas/adapters/dynamodb-open-bookings';
import { DynamoDbTicketStore } from '../../lambdas/adapters/dynamodb-ticket-store';
import { describeStoreContract } from '../support/store-contract';
import { createTestTable } from '../support/table';

describeStoreContract('DynamoDB adapters on dynalite', async () => {
  const { db, tableName } = await createTestTable();
  return {
    bookings: new DynamoDbBookingStore(db, tableName),
    mechanics: new DynamoDbMechanicStore(db, tableName),
    connections: new DynamoDbConnectionStore(db, tableName),
    openBookings: new DynamoDbOpenBookings(db, tableName),
    tickets: new DynamoDbTicketStore(db, tableName),
  };
});

/**
 * dynalite does not enforce DynamoDB's 2,048-byte limit on an index partition key (real DynamoDB refuses the
 * write), so the keys a customer id becomes are checked here directly.
 */
describe("a customer's index keys", () => {
  it('stay within 2,048 bytes whatever the id, and a long id never shares a key with a short one', () => {
    // Arrange
    const ids = ['cust-1', 'é'.repeat(600), 'x'.repeat(3000), '🔧'.repeat(2000)];

    // Act
    const keys = ids.flatMap((id) => [bookingIndex.customer(id), connectionIndex.customer(id)]);

    // Assert
    for (const key of keys) expect(Buffer.byteLength(key)).toBeLessThanOrEqual(2048);
    expect(bookingIndex.customer('x'.repeat(3000))).not.toBe(bookingIndex.customer('x'.repeat(2999)));
    expect(bookingIndex.customer('x'.repeat(3000)).startsWith('CUSTOMER#')).toBe(false);
    expect(bookingIndex.customer('cust-1')).toBe('CUSTOMER#cust-1');
  });
});
