/**
 * WebSocket `$connect` / `$disconnect`: the connection item appears in, then leaves, the connection indexes.
 * A customer's connection is indexed under the customer only: in no shard and no workshop, so no broadcast reaches it.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { wsEvent } from '../support/handler-events';
import { captureLogs, keysWithPrefix, newConnectionId, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';
import { randomUUID } from 'node:crypto';
import { handler as wsConnect } from '../../lambdas/handlers/ws-connect';
import { handler as wsDisconnect } from '../../lambdas/handlers/ws-disconnect';

const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table } = env), { logs });

async function queryIndex(indexName: string, keyName: string, keyValue: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await table.db.send(
    new QueryCommand({
      TableName: table.tableName,
      IndexName: indexName,
      KeyConditionExpression: '#k = :k',
      ExpressionAttributeNames: { '#k': keyName },
      ExpressionAttributeValues: { ':k': keyValue },
    }),
  );
  return Items;
}
const byMechanic = (mechanicId: string) => queryIndex('connections-by-mechanic', 'mechanic_pk', `MECHANIC#${mechanicId}`);
const byWorkshop = (workshopId: string) => queryIndex('connections-by-workshop', 'workshop_pk', `WORKSHOP#${workshopId}`);
const newMechanicId = () => `mech-${randomUUID().slice(0, 8)}`;

describe('$connect', () => {
  it('indexes the connection under its mechanic (and in a shard), answering 200', async () => {
    // Arrange
    const mechanicId = newMechanicId();
    const connectionId = newConnectionId();

    // Act
    const result = await wsConnect(wsEvent({ routeKey: '$connect', connectionId, mechanicId }));

    // Assert
    expect(result).toEqual({ statusCode: 200, body: '' });
    const items = await byMechanic(mechanicId);
    expect(items).toEqual([
      expect.objectContaining({ connection_id: connectionId, mechanic_id: mechanicId, workshop_id: null, shard_pk: expect.stringMatching(/^SHARD#\d+$/) }),
    ]);
    expect(items[0]).not.toHaveProperty('workshop_pk');
    expect(await queryIndex('connections-by-shard', 'shard_pk', items[0]!.shard_pk as string)).toEqual(
      expect.arrayContaining([expect.objectContaining({ connection_id: connectionId })]),
    );
  });

  it("puts a workshop mechanic's connection in the workshop index too", async () => {
    // Arrange
    const mechanicId = newMechanicId();
    const workshopId = `ws-${randomUUID().slice(0, 6)}`;
    const connectionId = newConnectionId();

    // Act
    await wsConnect(wsEvent({ routeKey: '$connect', connectionId, mechanicId, workshopId }));

    // Assert
    expect(await byWorkshop(workshopId)).toEqual([expect.objectContaining({ connection_id: connectionId, mechanic_id: mechanicId, workshop_id: workshopId })]);
  });

  it('keeps every connection of a mechanic with several devices', async () => {
    // Arrange
    const mechanicId = newMechanicId();
    const phone = newConnectionId();
    const tablet = newConnectionId();

    // Act
    await wsConnect(wsEvent({ routeKey: '$connect', connectionId: phone, mechanicId }));
    await wsConnect(wsEvent({ routeKey: '$connect', connectionId: tablet, mechanicId }));

    // Assert
    expect((await byMechanic(mechanicId)).map((i) => i.connection_id).sort()).toEqual([phone, tablet].sort());
  });

  it('without the authorizer context → 401 and nothing indexed', async () => {
    // Arrange
    const connectionId = newConnectionId();

    // Act
    const result = await wsConnect(wsEvent({ routeKey: '$connect', connectionId }));

    // Assert
    expect(result.statusCode).toBe(401);
    expect(await keysWithPrefix(table, `CONNECTION#${connectionId}`)).toEqual([]);
  });
});

describe('$connect and $disconnect of a customer (role=customer)', () => {
  const byCustomer = (customerId: string) => queryIndex('connections-by-mechanic', 'mechanic_pk', `CUSTOMER#${customerId}`);

  it('indexes the connection under the customer, with no shard or workshop key; $disconnect removes it', async () => {
    // Arrange
    const customerId = `cust-${randomUUID().slice(0, 8)}`;
    const connectionId = newConnectionId();

    // Act
    const connected = await wsConnect(wsEvent({ routeKey: '$connect', connectionId, customerId }));
    const items = await byCustomer(customerId);
    const disconnected = await wsDisconnect(wsEvent({ routeKey: '$disconnect', connectionId, customerId }));

    // Assert
    expect(connected).toEqual({ statusCode: 200, body: '' });
    expect(items).toEqual([expect.objectContaining({ connection_id: connectionId, customer_id: customerId })]);
    expect(items[0]).not.toHaveProperty('shard_pk');
    expect(items[0]).not.toHaveProperty('workshop_pk');
    expect(items[0]).not.toHaveProperty('mechanic_id');
    expect(await byMechanic(customerId)).toEqual([]);
    expect(disconnected).toEqual({ statusCode: 200, body: '' });
    expect(await byCustomer(customerId)).toEqual([]);
    expect(logs.lines.map((l) => l.message)).toEqual(expect.arrayContaining(['[connect] Customer connected', '[connect] Customer disconnected']));
  });

  it('a customer context without a customer id → 401 and nothing indexed', async () => {
    // Arrange
    const connectionId = newConnectionId();

    // Act
    const result = await wsConnect(wsEvent({ routeKey: '$connect', connectionId, customerId: '' }));

    // Assert
    expect(result.statusCode).toBe(401);
    expect(await keysWithPrefix(table, `CONNECTION#${connectionId}`)).toEqual([]);
  });
});

describe('$disconnect', () => {
  it('removes that connection from the indexes, and only that one', async () => {
    // Arrange
    const mechanicId = newMechanicId();
    const workshopId = `ws-${randomUUID().slice(0, 6)}`;
    const leaving = newConnectionId();
    const staying = newConnectionId();
    await wsConnect(wsEvent({ routeKey: '$connect', connectionId: leaving, mechanicId, workshopId }));
    await wsConnect(wsEvent({ routeKey: '$connect', connectionId: staying, mechanicId, workshopId }));

    // Act
    const result = await wsDisconnect(wsEvent({ routeKey: '$disconnect', connectionId: leaving, mechanicId, workshopId }));

    // Assert
    expect(result).toEqual({ statusCode: 200, body: '' });
    expect((await byMechanic(mechanicId)).map((i) => i.connection_id)).toEqual([staying]);
    expect((await byWorkshop(workshopId)).map((i) => i.connection_id)).toEqual([staying]);
    expect(await keysWithPrefix(table, `CONNECTION#${leaving}`)).toEqual([]);
  });

  it('a connection that is already gone is fine', async () => {
    // Act
    const result = await wsDisconnect(wsEvent({ routeKey: '$disconnect', connectionId: newConnectionId(), mechanicId: newMechanicId() }));

    // Assert
    expect(result.statusCode).toBe(200);
  });
});
