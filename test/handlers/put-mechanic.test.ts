/** PUT /mechanics/{id}: admin scope only; suspending a mechanic drops their live connections at once. */
import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { httpEvent, responseOf } from '../support/handler-events';
import { type AwsWires, captureLogs, keysWithPrefix, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as putMechanic } from '../../lambdas/handlers/put-mechanic';

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table, wires } = env), { logs });

const ADMIN = 'admin-1';
const put = (id: string, body: unknown, scopes: string[] | null = ['admin']) =>
  putMechanic(httpEvent({ method: 'PUT', route: '/mechanics/{id}', id, body, sub: ADMIN, scopes }));
const mechanics = () => new DynamoDbMechanicStore(table.db, table.tableName);

/** The mechanic's connection items, read straight from the `connections-by-mechanic` index. */
async function indexedConnections(mechanicId: string): Promise<{ connection_id: string; workshop_id: string | null; workshop_pk?: string }[]> {
  const { Items = [] } = await table.db.send(
    new QueryCommand({
      TableName: table.tableName,
      IndexName: 'connections-by-mechanic',
      KeyConditionExpression: 'mechanic_pk = :m',
      ExpressionAttributeValues: { ':m': `MECHANIC#${mechanicId}` },
    }),
  );
  return Items as { connection_id: string; workshop_id: string | null; workshop_pk?: string }[];
}

describe('PUT /mechanics/{id}', () => {
  it.each([
    ['no scopes', null],
    ['other scopes', ['read', 'write']],
    ['a scope that merely contains "admin"', ['administrator']],
  ])('without the admin scope (%s) → 403, nothing stored', async (_name, scopes) => {
    // Arrange
    const id = `mech-${randomUUID().slice(0, 8)}`;

    // Act
    const response = responseOf(await put(id, { status: 'approved' }, scopes));

    // Assert
    expect(response.status).toBe(403);
    expect(response.body).toEqual({ error: { code: 'forbidden', message: expect.stringContaining('admin') } });
    expect(await mechanics().get(id)).toBeUndefined();
  });

  it('without a JWT → 401', async () => {
    // Act
    const response = responseOf(
      await putMechanic(httpEvent({ method: 'PUT', route: '/mechanics/{id}', id: 'mech-x', body: { status: 'approved' }, sub: null })),
    );

    // Assert
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthorized');
  });

  it('with the admin scope → 200 and the mechanic is stored', async () => {
    // Arrange
    const id = `mech-${randomUUID().slice(0, 8)}`;

    // Act
    const response = responseOf(await put(id, { status: 'approved', name: 'Ada', workshop_id: 'ws-1' }, ['read', 'admin']));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ mechanic_id: id, status: 'approved', name: 'Ada', workshop_id: 'ws-1', updated_at: expect.any(String), paused: false });
    expect(await mechanics().get(id)).toEqual(response.body);
  });

  it.each([
    ['an unknown status', { status: 'retired' }, 'status', 'status must be one of approved, pending, suspended'],
    ['a missing status', { name: 'Bob' }, 'status', undefined],
    ['a numeric name', { status: 'approved', name: 5 }, 'name', 'name: Invalid input: expected string, received number'],
  ])('%s → 400 naming the field, nothing stored', async (_name, body, field, exact) => {
    // Arrange
    const id = `mech-${randomUUID().slice(0, 8)}`;

    // Act
    const response = responseOf(await put(id, body));

    // Assert
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.message).toContain(field);
    if (exact) expect(response.body.error.message).toBe(exact);
    expect(await mechanics().get(id)).toBeUndefined();
  });

  it('a mechanic id with a key separator → 400 naming id', async () => {
    // Act
    const response = responseOf(await put('MECHANIC#evil', { status: 'approved' }));

    // Assert
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/^id/);
    expect(await keysWithPrefix(table, 'MECHANIC#MECHANIC#')).toEqual([]);
  });

  it('suspending a connected mechanic deletes their connection items and closes their sockets', async () => {
    // Arrange
    const mechanic = await wires.addMechanic({ connections: 2 });
    const other = await wires.addMechanic();
    expect(await indexedConnections(mechanic.mechanicId)).toHaveLength(2);

    // Act
    const response = responseOf(await put(mechanic.mechanicId, { status: 'suspended' }));

    // Assert
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('suspended');
    expect(await indexedConnections(mechanic.mechanicId)).toEqual([]);
    expect(await keysWithPrefix(table, ...mechanic.connectionIds.map((id) => `CONNECTION#${id}`))).toEqual([]);
    expect((await wires.connectionsClosed()).sort()).toEqual([...mechanic.connectionIds].sort());
    // Nobody else is touched.
    expect(await indexedConnections(other.mechanicId)).toHaveLength(1);
  });

  it('a close that fails does not fail the suspension', async () => {
    // Arrange: the gateway answers this connection's DeleteConnection with a 500 (fault injection)
    const mechanic = await wires.addMechanic();
    wires.failClosing(mechanic.connectionIds[0]!);

    // Act
    const response = responseOf(await put(mechanic.mechanicId, { status: 'pending' }));

    // Assert
    expect(response.status).toBe(200);
    expect(await indexedConnections(mechanic.mechanicId)).toEqual([]);
    // The close really failed: the socket is still open, and that is only worth a warning.
    expect(await wires.connectionsClosed()).toEqual([]);
    expect(logs.lines.some((l) => l.level === 'WARN' && l.message.includes('Could not close'))).toBe(true);
  });

  it('moving an approved, connected mechanic to a workshop re-tags their live connections', async () => {
    // Arrange
    const mechanic = await wires.addMechanic({ workshopId: null });

    // Act
    const response = responseOf(await put(mechanic.mechanicId, { status: 'approved', workshop_id: 'ws-moved' }));

    // Assert
    expect(response.status).toBe(200);
    expect(await indexedConnections(mechanic.mechanicId)).toEqual([expect.objectContaining({ workshop_id: 'ws-moved', workshop_pk: 'WORKSHOP#ws-moved' })]);
    expect(await wires.connectionsClosed()).toEqual([]);
  });

  it('moving a connected mechanic out of their workshop takes their connections out of the workshop index', async () => {
    // Arrange
    const workshopId = `ws-${randomUUID().slice(0, 6)}`;
    const mechanic = await wires.addMechanic({ workshopId });
    const workshopIndex = async () =>
      (
        await table.db.send(
          new QueryCommand({
            TableName: table.tableName,
            IndexName: 'connections-by-workshop',
            KeyConditionExpression: 'workshop_pk = :w',
            ExpressionAttributeValues: { ':w': `WORKSHOP#${workshopId}` },
          }),
        )
      ).Items ?? [];
    expect(await workshopIndex()).toHaveLength(1);

    // Act
    const response = responseOf(await put(mechanic.mechanicId, { status: 'approved', workshop_id: null }));

    // Assert
    expect(response.status).toBe(200);
    expect(await workshopIndex()).toEqual([]);
    const [connection] = await indexedConnections(mechanic.mechanicId);
    expect(connection).toMatchObject({ connection_id: mechanic.connectionIds[0], workshop_id: null });
    expect(connection).not.toHaveProperty('workshop_pk');
  });
});
