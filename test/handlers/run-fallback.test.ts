/** The scheduler's target: `{"request_id": …}` at the end of the priority window. One conditional write decides. */
import { describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { httpEvent, responseOf, wsEvent } from '../support/handler-events';
import { type AwsWires, captureLogs, newCustomerId, readRequest, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as intakeStart } from '../../lambdas/handlers/intake-start';
import { handler as runFallback } from '../../lambdas/handlers/run-fallback';
import { handler as wsAccept } from '../../lambdas/handlers/ws-accept';

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table, wires } = env), { logs });

/** A priority request with its offer out and its schedule created, as intake leaves it with the flag on. */
async function priorityRequest(): Promise<{ requestId: string; sessionId: string; favorite: { mechanicId: string; connectionIds: string[] } }> {
  await wires.setFlag('true');
  const favorite = await wires.addMechanic();
  const response = responseOf(
    await intakeStart(
      httpEvent({
        method: 'POST',
        route: '/intake/start',
        sub: newCustomerId(),
        body: { plan: 'free', concern: 'Fallback me', preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' },
      }),
    ),
  );
  const request = await readRequest(table, response.body.request_id);
  expect(request).toMatchObject({ routing: 'priority', status: 'pending' });
  // The schedule's input is exactly what the handler will be given.
  expect(JSON.parse((await wires.schedulesCreated())[0]!.Target!.Input!)).toEqual({ request_id: response.body.request_id });
  await wires.reset();
  logs.clear();
  return { requestId: response.body.request_id, sessionId: response.body.session_id, favorite };
}

describe('malformed input', () => {
  it.each([
    ['an empty object', {}],
    ['null', null],
    ['a string', 'req-123'],
    ['a numeric request_id', { request_id: 42 }],
    ['an empty request_id', { request_id: '' }],
  ])('%s → {ran:false}, no throw, logged as an error', async (_name, input) => {
    // Act
    const outcome = await runFallback(input);

    // Assert
    expect(outcome).toEqual({ ran: false });
    expect(await wires.pushed()).toEqual([]);
    expect(logs.lines).toEqual([expect.objectContaining({ level: 'ERROR', message: expect.stringMatching(/^\[Fallback\]/) })]);
  });

  it('an unknown request id → {ran:false}, nothing pushed', async () => {
    // Act
    const outcome = await runFallback({ request_id: 'req-00000000-0000-4000-8000-000000000000' });

    // Assert
    expect(outcome).toEqual({ ran: false });
    expect(await wires.pushed()).toEqual([]);
  });
});

describe('a priority request past its window', () => {
  it('is broadcast to every mechanic with reason fallback and the audit fields set; invoked again, nothing is pushed', async () => {
    // Arrange
    const { requestId, sessionId, favorite } = await priorityRequest();
    const other = await wires.addMechanic();

    // Act
    const first = await runFallback({ request_id: requestId });

    // Assert: the broadcast
    expect(first).toEqual({ ran: true });
    const expected = { type: 'new_request', request_id: requestId, session_id: sessionId, reason: 'fallback', concern: 'Fallback me', vehicle: null };
    expect(await wires.pushedTo(other.connectionIds[0]!)).toEqual([expected]);
    expect(await wires.pushedTo(favorite.connectionIds[0]!)).toEqual([expected]);
    expect((await readRequest(table, requestId))?.metadata).toMatchObject({
      priority_mechanic_id: favorite.mechanicId,
      fallback_reason: 'preferred_mechanic_no_response',
      fallback_broadcast_at: expect.any(String),
    });
    expect(logs.lines.map((l) => l.message)).toContain('[Fallback] Priority window over, broadcasting to all mechanics');

    // Act again: a duplicate or retried invocation
    const pushesAfterFirst = (await wires.pushed()).length;
    const second = await runFallback({ request_id: requestId });

    // Assert: nothing more
    expect(second).toEqual({ ran: false });
    expect(await wires.pushed()).toHaveLength(pushesAfterFirst);
    expect((await readRequest(table, requestId))?.events.filter((e) => e.type === 'fallback_broadcast')).toHaveLength(1);
  });

  it('after the favorite accepted, the fallback does nothing', async () => {
    // Arrange
    const { requestId, favorite } = await priorityRequest();
    await wsAccept(
      wsEvent({
        routeKey: 'accept',
        connectionId: favorite.connectionIds[0]!,
        mechanicId: favorite.mechanicId,
        body: { action: 'accept', request_id: requestId },
      }),
    );
    await wires.reset();

    // Act
    const outcome = await runFallback({ request_id: requestId });

    // Assert
    expect(outcome).toEqual({ ran: false });
    expect(await wires.pushed()).toEqual([]);
    expect(await readRequest(table, requestId)).toMatchObject({ status: 'matched', mechanic_id: favorite.mechanicId });
  });

  it('a gone connection is pruned during the broadcast and the rest still get it', async () => {
    // Arrange
    const { requestId } = await priorityRequest();
    const gone = await wires.addMechanic();
    const alive = await wires.addMechanic();
    await wires.goneConnection(gone.connectionIds[0]!);

    // Act
    const outcome = await runFallback({ request_id: requestId });

    // Assert
    expect(outcome).toEqual({ ran: true });
    expect(await wires.pushedTo(alive.connectionIds[0]!)).toEqual([expect.objectContaining({ type: 'new_request', reason: 'fallback' })]);
    const connections = new DynamoDbConnectionStore(table.db, table.tableName);
    expect(await connections.listByMechanic(gone.mechanicId)).toEqual([]);
    expect(await connections.listByMechanic(alive.mechanicId)).toHaveLength(1);
  });
});
