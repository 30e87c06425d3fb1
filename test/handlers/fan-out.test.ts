/**
 * The fan-out function, Lambda's asynchronous target:
 * `{"request_id", "audience", "message", "except_connection_id"?}`. Everyone
 * is split into one Event invocation of itself per connection shard; a shard,
 * a workshop or a mechanic is pushed here. A push that still fails after its
 * retries fails the invocation, so Lambda runs it again (twice, then the
 * dead-letter queue). A malformed event is logged and ignored.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONNECTION_SHARDS } from '../../contract/table-schema';
import { connectionIndex } from '../../lambdas/adapters/dynamodb-keys';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import type { ServerMessage } from '../../lambdas/domain/messages';
import { type AwsWires, captureLogs, DEAD_LETTER_QUEUE_ARN, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';
import { handler as fanOut } from '../../lambdas/handlers/fan-out';

let wires: AwsWires;
const logs = captureLogs();
let table: TestTable;

useHandlerEnv((env) => ({ table, wires } = env), { logs });

const newRequestId = () => `req-${randomUUID()}`;
const newRequest = (requestId: string): ServerMessage => ({
  type: 'new_request',
  request_id: requestId,
  session_id: requestId.slice('req-'.length),
  reason: 'broadcast',
  expires_at: '2026-11-28T13:00:00.000Z',
  concern: 'Fan me out',
  vehicle: null,
});
const metric = (name: string) => logs.metrics.filter((m) => name in m).reduce((sum, m) => sum + Number(m[name]), 0);

describe('malformed events', () => {
  const requestId = 'req-00000000-0000-4000-8000-000000000000';
  it.each([
    ['an empty object', {}],
    ['null', null],
    ['a string', 'req-123'],
    ['no audience or message', { request_id: requestId }],
    ['an unknown audience', { request_id: requestId, audience: { kind: 'galaxy' }, message: { type: 'pong' } }],
    ['a negative shard', { request_id: requestId, audience: { kind: 'shard', shard: -1 }, message: { type: 'pong' } }],
    ['a workshop audience without its id', { request_id: requestId, audience: { kind: 'workshop' }, message: { type: 'pong' } }],
    ['a message that is no object', { request_id: requestId, audience: { kind: 'everyone' }, message: 'hello' }],
    ['an empty request_id', { request_id: '', audience: { kind: 'everyone' }, message: { type: 'pong' } }],
  ])('%s → {delivered:0}, no throw, logged as an error, nobody pushed', async (_name, event) => {
    // Arrange
    await wires.addMechanic();

    // Act
    const outcome = await fanOut(event);

    // Assert
    expect(outcome).toEqual({ delivered: 0 });
    expect(logs.lines).toEqual([
      expect.objectContaining({ level: 'ERROR', message: '[FanOut] Ignoring a malformed fan-out event', error: expect.any(String) }),
    ]);
    expect(wires.invocations()).toEqual([]);
    expect(await wires.pushed()).toEqual([]);
  });
});

describe('everyone', () => {
  it('is split into one Event invocation per connection shard, and every connection but the excepted one gets the message once', async () => {
    // Arrange
    const mechanics = await Promise.all(Array.from({ length: 6 }, () => wires.addMechanic()));
    const winner = await wires.addMechanic();
    const requestId = newRequestId();
    const taken: ServerMessage = { type: 'request_taken', request_id: requestId, reason: 'accepted' };

    // Act
    const outcome = await fanOut({ request_id: requestId, audience: { kind: 'everyone' }, message: taken, except_connection_id: winner.connectionIds[0] });

    // Assert: the split, as Lambda accepted it (the hand-overs go out side by side, in any order)
    expect(outcome).toEqual({ shards: CONNECTION_SHARDS });
    const byShard = (p: unknown) => (p as { audience: { shard: number } }).audience.shard;
    expect(
      wires
        .invocations()
        .map((i) => i.payload)
        .sort((x, y) => byShard(x) - byShard(y)),
    ).toEqual(
      Array.from({ length: CONNECTION_SHARDS }, (_, shard) => ({
        request_id: requestId,
        audience: { kind: 'shard', shard },
        message: taken,
        except_connection_id: winner.connectionIds[0],
      })),
    );
    expect(wires.invocations().every((i) => i.function === 'fanOut')).toBe(true);
    // Assert: the shards' runs
    for (const m of mechanics) expect(await wires.pushedTo(m.connectionIds[0]!)).toEqual([taken]);
    expect(await wires.pushedTo(winner.connectionIds[0]!)).toEqual([]);
    expect(wires.invocations().every((i) => i.outcome === 'succeeded' && i.runs === 1)).toBe(true);
    expect(logs.lines.map((l) => l.message)).toContain('[FanOut] Split across connection shards');
  });
});

describe('one shard, a workshop, a mechanic', () => {
  it('a shard: exactly the connections in it are pushed, and new_request deliveries are counted', async () => {
    // Arrange
    const mechanics = await Promise.all(Array.from({ length: 8 }, () => wires.addMechanic()));
    const shard = connectionIndex.shardOf(mechanics[0]!.connectionIds[0]!);
    // Every live connection of the table in that shard (earlier tests' mechanics are still connected).
    const inShard: string[] = [];
    for await (const page of new DynamoDbConnectionStore(table.db, table.tableName).listByShard(shard)) inShard.push(...page.map((c) => c.connection_id));
    expect(inShard).toEqual(expect.arrayContaining(mechanics.flatMap((m) => m.connectionIds).filter((id) => connectionIndex.shardOf(id) === shard)));
    const requestId = newRequestId();

    // Act
    const outcome = await fanOut({ request_id: requestId, audience: { kind: 'shard', shard }, message: newRequest(requestId) });

    // Assert
    expect(outcome).toEqual({ delivered: inShard.length, gone: 0, failed: 0 });
    expect((await wires.pushed()).map((p) => p.connectionId).sort()).toEqual([...inShard].sort());
    expect(wires.invocations()).toEqual([]);
    expect(metric('BroadcastsDelivered')).toBe(inShard.length);
  });

  it("a workshop: only its mechanics' connections, but the excepted one", async () => {
    // Arrange
    const workshopId = `ws-${randomUUID().slice(0, 8)}`;
    const a = await wires.addMechanic({ workshopId, connections: 2 });
    const b = await wires.addMechanic({ workshopId });
    const outsider = await wires.addMechanic();
    const requestId = newRequestId();
    const taken: ServerMessage = { type: 'request_taken', request_id: requestId, reason: 'accepted' };

    // Act
    const outcome = await fanOut({
      request_id: requestId,
      audience: { kind: 'workshop', workshopId },
      message: taken,
      except_connection_id: b.connectionIds[0],
    });

    // Assert
    expect(outcome).toEqual({ delivered: 2, gone: 0, failed: 0 });
    for (const id of a.connectionIds) expect(await wires.pushedTo(id)).toEqual([taken]);
    expect(await wires.pushedTo(b.connectionIds[0]!)).toEqual([]);
    expect(await wires.pushedTo(outsider.connectionIds[0]!)).toEqual([]);
    expect(metric('BroadcastsDelivered')).toBe(0);
  });

  it('a mechanic: every one of their devices', async () => {
    // Arrange
    const mechanic = await wires.addMechanic({ connections: 3 });
    const other = await wires.addMechanic();
    const requestId = newRequestId();

    // Act
    const outcome = await fanOut({ request_id: requestId, audience: { kind: 'mechanic', mechanicId: mechanic.mechanicId }, message: newRequest(requestId) });

    // Assert
    expect(outcome).toEqual({ delivered: 3, gone: 0, failed: 0 });
    for (const id of mechanic.connectionIds) expect(await wires.pushedTo(id)).toEqual([newRequest(requestId)]);
    expect(await wires.pushedTo(other.connectionIds[0]!)).toEqual([]);
  });

  it('a gone connection (410) is pruned, the rest still get it', async () => {
    // Arrange
    const workshopId = `ws-${randomUUID().slice(0, 8)}`;
    const gone = await wires.addMechanic({ workshopId });
    const alive = await wires.addMechanic({ workshopId });
    await wires.goneConnection(gone.connectionIds[0]!);
    const requestId = newRequestId();

    // Act
    const outcome = await fanOut({ request_id: requestId, audience: { kind: 'workshop', workshopId }, message: newRequest(requestId) });

    // Assert
    expect(outcome).toEqual({ delivered: 1, gone: 1, failed: 0 });
    expect(await wires.pushedTo(alive.connectionIds[0]!)).toEqual([newRequest(requestId)]);
    const connections = new DynamoDbConnectionStore(table.db, table.tableName);
    expect(await connections.listByMechanic(gone.mechanicId)).toEqual([]);
    expect(await connections.listByMechanic(alive.mechanicId)).toHaveLength(1);
    expect(metric('StaleConnectionsPruned')).toBe(1);
  });
});

describe('a push that keeps failing', () => {
  it('is tried 3 times, the others are still pushed, and the invocation fails so Lambda runs it again', async () => {
    // Arrange: the gateway answers this connection with a 500 (fault injection)
    const mechanic = await wires.addMechanic({ connections: 2 });
    wires.failPosting(mechanic.connectionIds[0]!);
    const requestId = newRequestId();

    // Act
    const run = fanOut({ request_id: requestId, audience: { kind: 'mechanic', mechanicId: mechanic.mechanicId }, message: newRequest(requestId) });

    // Assert
    await expect(run).rejects.toThrow('1 pushes still failed after their retries');
    expect(await wires.pushedTo(mechanic.connectionIds[1]!)).toEqual([newRequest(requestId)]);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'Push to a connection failed', connection_id: mechanic.connectionIds[0], attempts: 3 }),
    );
    expect(metric('PushFailures')).toBe(1);
  });

  it("through Lambda: the failing shard's run is made 3 times, then its event goes to the dead-letter queue; the other shards are done once", async () => {
    // Arrange
    const broken = await wires.addMechanic();
    const healthy = await wires.addMechanic();
    wires.failPosting(broken.connectionIds[0]!);
    const brokenShard = connectionIndex.shardOf(broken.connectionIds[0]!);
    const requestId = newRequestId();

    // Act
    await fanOut({ request_id: requestId, audience: { kind: 'everyone' }, message: newRequest(requestId) });
    await wires.asyncDone();

    // Assert
    const shardOf = (i: { payload: unknown }) => (i.payload as { audience: { shard: number } }).audience.shard;
    const failed = wires.invocations().filter((i) => i.outcome === 'failed');
    expect(failed.map(shardOf)).toEqual([brokenShard]);
    expect(failed[0]).toMatchObject({ runs: 3, errors: [expect.stringContaining('pushes still failed'), expect.any(String), expect.any(String)] });
    expect(wires.invocations().filter((i) => i.outcome === 'succeeded' && i.runs === 1)).toHaveLength(CONNECTION_SHARDS - 1);
    expect(wires.deadLetters()).toContainEqual(
      expect.objectContaining({
        destination_arn: DEAD_LETTER_QUEUE_ARN,
        record: expect.objectContaining({ requestPayload: failed[0]!.payload, requestContext: expect.objectContaining({ condition: 'RetriesExhausted' }) }),
      }),
    );
    // A connection sharing the broken one's shard is told again on each run (same request id: clients dedupe); any other once.
    const expectedRuns = connectionIndex.shardOf(healthy.connectionIds[0]!) === brokenShard ? 3 : 1;
    expect(await wires.pushedTo(healthy.connectionIds[0]!)).toEqual(Array.from({ length: expectedRuns }, () => newRequest(requestId)));
  });
});
