/**
 * Connect tickets by hash. A ticket is used by ONE conditional DeleteItem that
 * returns what it deleted: of several handshakes presenting the same ticket at
 * once, DynamoDB lets exactly one delete it; the others' condition fails. The
 * TTL attribute lets DynamoDB drop tickets nobody used (the sandbox sweeps
 * them); `expires_at` in the condition refuses one TTL has not removed yet
 * (TTL deletes within days, not on the second).
 */
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Ticket } from '../domain/tickets';
import type { TicketStore } from '../ports';
import { isConditionFailure, keys } from './dynamodb-keys';

export class DynamoDbTicketStore implements TicketStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(hash: string, ticket: Ticket): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.ticket(hash),
          subject: ticket.subject,
          role: ticket.role,
          expires_at: ticket.expires_at,
          expires_at_epoch: Math.ceil(Date.parse(ticket.expires_at) / 1000),
        },
        // 256 random bits never collide; if they ever did, an existing ticket must not be rebound to someone else.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async take(hash: string, now: string): Promise<Ticket | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.ticket(hash),
          ConditionExpression: 'attribute_exists(pk) AND expires_at > :now',
          ExpressionAttributeValues: { ':now': now },
          ReturnValues: 'ALL_OLD',
        }),
      );
      if (!Attributes) return undefined;
      return { subject: String(Attributes.subject), role: Attributes.role as Ticket['role'], expires_at: String(Attributes.expires_at) };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}
