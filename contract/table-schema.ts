/**
 * The one key schema of the priority-dispatch table: read by the CDK stack
 * (TableV2) and by the sandbox (CreateTable on dynalite), and by the DynamoDB
 * adapters for index names. Plain data only: no aws-cdk-lib import, so Lambda
 * bundles can include it.
 */

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S';
}

export interface GlobalIndex {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  /**
   * The non-key attributes the index copies (projection INCLUDE); omitted = the whole item (ALL).
   * A booking item carries its audit trail: an index that copied it all would pay for the copy on every write.
   */
  readonly include?: readonly string[];
}

/** Generic key names: each item type fills them with its own prefixes (see lambdas/adapters/dynamodb-keys.ts). */
export const tableSchema = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  /** Epoch seconds; idle connections and idempotency records expire through it. */
  timeToLiveAttribute: 'expires_at_epoch',
  globalSecondaryIndexes: [
    /** A mechanic's live connections: the priority offer and accept/decline replies. */
    { indexName: 'connections-by-mechanic', partitionKey: { name: 'mechanic_pk', type: 'S' }, sortKey: { name: 'connection_sk', type: 'S' } },
    /** Every live connection, split into shards so a broadcast can be fanned out (DESIGN §6). */
    { indexName: 'connections-by-shard', partitionKey: { name: 'shard_pk', type: 'S' }, sortKey: { name: 'connection_sk', type: 'S' } },
    /** A workshop's live connections: workshop routing. */
    { indexName: 'connections-by-workshop', partitionKey: { name: 'workshop_pk', type: 'S' }, sortKey: { name: 'connection_sk', type: 'S' } },
    /**
     * Requests someone may act on now, by audience (`everyone`, `mechanic#…`, `workshop#…`) and deadline: what a
     * reconnecting mechanic's `sync` reads. Sparse: only an offered or open booking has `pending_pk`.
     */
    {
      indexName: 'pending-by-audience',
      partitionKey: { name: 'pending_pk', type: 'S' },
      sortKey: { name: 'pending_sk', type: 'S' },
      include: ['request_id', 'session_id', 'state', 'concern', 'vehicle', 'expires_at', 'open_until'],
    },
    /** A customer's bookings, newest last: what a customer's `sync` reads. */
    {
      indexName: 'bookings-by-customer',
      partitionKey: { name: 'customer_pk', type: 'S' },
      sortKey: { name: 'customer_sk', type: 'S' },
      include: ['session_id', 'request_id', 'state', 'audience', 'mechanic_id', 'expires_at', 'open_until'],
    },
  ],
} as const satisfies {
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
  timeToLiveAttribute: string;
  globalSecondaryIndexes: readonly GlobalIndex[];
};

/**
 * How many shards the connection index is split into. A broadcast queries
 * each shard in turn; at scale each shard group can go to its own invocation.
 * Changing it re-homes connections only as they reconnect, so pick it once.
 */
export const CONNECTION_SHARDS = 16;

export type IndexName = (typeof tableSchema.globalSecondaryIndexes)[number]['indexName'];

/** An index's projection, as DynamoDB's CreateTable (and CloudFormation) spell it. */
export function projectionOf(index: GlobalIndex): { ProjectionType: 'ALL' } | { ProjectionType: 'INCLUDE'; NonKeyAttributes: string[] } {
  return index.include ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] } : { ProjectionType: 'ALL' };
}

/** CreateTable input for this schema, as the sandbox and the tests create the table on dynalite. */
export function createTableInput(tableName: string) {
  const attributeNames = new Set<string>([tableSchema.partitionKey.name, tableSchema.sortKey.name]);
  for (const index of tableSchema.globalSecondaryIndexes) {
    attributeNames.add(index.partitionKey.name);
    attributeNames.add(index.sortKey.name);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributeNames].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: tableSchema.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: tableSchema.sortKey.name, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: tableSchema.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
      ],
      Projection: projectionOf(index),
    })),
  };
}
