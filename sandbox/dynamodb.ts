/**
 * DynamoDB through dynalite (on disk in the data dir, or in memory), served
 * by handing each request to dynalite's own request listener, and the table
 * created from contract/table-schema.ts. dynalite has no TTL, so the sandbox
 * sweeps expired items itself.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, ResourceInUseException, ScanCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput, tableSchema } from '../contract/table-schema';
import type { AwsService } from './aws-wire';

export class DynamoDbService {
  private readonly server: Server;
  private sweeper: NodeJS.Timeout | undefined;
  /** The sweep under way, so stopping waits for it instead of closing the database under it. */
  private sweeping: Promise<void> | undefined;

  constructor(dataDir: string | undefined) {
    const path = dataDir ? join(dataDir, 'dynamodb') : undefined;
    if (path) mkdirSync(path, { recursive: true });
    this.server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  }

  readonly handle: AwsService = (req, res) => {
    this.server.emit('request', req, res);
  };

  /** Creates the table (idempotent) and starts the TTL sweep, through the sandbox's own endpoint. */
  async ensureTable(endpoint: string, tableName: string, sweepEveryMs = 30_000): Promise<void> {
    const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' } });
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.1 }, { TableName: tableName });
    const sweep = async (): Promise<void> => {
      const now = Math.floor(Date.now() / 1000);
      let ExclusiveStartKey: Record<string, never> | undefined;
      do {
        const page = await client.send(
          new ScanCommand({
            TableName: tableName,
            FilterExpression: '#ttl < :now',
            ExpressionAttributeNames: { '#ttl': tableSchema.timeToLiveAttribute },
            ExpressionAttributeValues: { ':now': { N: String(now) } },
            ExclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) {
          await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: item.pk!, sk: item.sk! } }));
        }
        ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
      } while (ExclusiveStartKey);
    };
    await sweep();
    this.sweeper = setInterval(() => {
      this.sweeping ??= sweep()
        .catch(() => undefined)
        .finally(() => {
          this.sweeping = undefined;
        });
    }, sweepEveryMs);
    this.sweeper.unref();
  }

  /** Stops the TTL sweep and waits for one under way; call before the endpoint it goes through closes. */
  async stopSweeping(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.sweeping;
  }

  /**
   * dynalite closes its LevelDB (and releases the lock a restart needs) only
   * when its own server closes, so it listens on a private port it never uses.
   */
  async open(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    await this.stopSweeping();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }
}
