/**
 * An accept storm, for correctness (the timing is bench/accept-storm.ts's):
 * 200 mechanics accepting one open request at the same moment get exactly one
 * `ok`, every other one `already_matched`; the accept invocations stay O(1) —
 * each pushes only its own answer, only the winner's reads connections (its
 * own, for `by_you` to its other devices), and the winner's one hand-over to
 * the fan-out tells the 199 others, never the winner.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../lambdas/adapters/dynamodb-keys';
import type { Sandbox } from '../../sandbox/index';
import { CONNECTION_SHARDS } from '../../contract/table-schema';
import { api, awsClientConfig, eventually, MechanicClient, roundTrip, startTestSandbox } from './clients';

const MECHANICS = 200;
let sandbox: Sandbox;
let crowd: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox();
  const ids = await approvedMechanics(MECHANICS);
  // A few handshakes at a time: each runs the authorizer and $connect, and a free container is reused
  // rather than dozens started (each start imports a bundle, costly on a busy machine).
  for (let next = 0; next < ids.length; next += 10) {
    crowd = crowd.concat(await Promise.all(ids.slice(next, next + 10).map((id) => MechanicClient.connect(sandbox, id))));
  }
});

/** Approved mechanics written straight to the table (the admin route would run its function 200 times). */
async function approvedMechanics(count: number): Promise<string[]> {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(awsClientConfig(sandbox)));
  const ids = Array.from({ length: count }, () => `mech-${crypto.randomUUID().slice(0, 8)}`);
  const now = new Date().toISOString();
  for (let i = 0; i < ids.length; i += 25) {
    const items = ids.slice(i, i + 25).map((id) => ({
      PutRequest: { Item: { ...keys.mechanic(id), mechanic_id: id, status: 'approved', name: id, workshop_id: null, updated_at: now } },
    }));
    await db.send(new BatchWriteCommand({ RequestItems: { [sandbox.tableName]: items } }));
  }
  db.destroy();
  return ids;
}

afterAll(async () => {
  await Promise.all(crowd.map((client) => client.close()));
  await sandbox?.stop();
});

describe(`${MECHANICS} simultaneous accepts`, () => {
  it('one ok, every other already_matched; the accepts tell nobody but themselves, the fan-out tells all but the winner', async () => {
    // Arrange: a broadcast every mechanic has heard of
    const customer = await sandbox.token({ sub: 'customer-storm' });
    const booked = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', { token: customer, body: { plan: 'free', concern: 'Storm' } });
    expect(booked.status).toBe(201);
    const requestId = booked.body.request_id;
    await Promise.all(crowd.map((m) => m.waitFor('new_request', requestId)));
    const before = sandbox.invocations().length;

    // Act: every accept leaves before any answer is read
    for (const m of crowd) m.accept(requestId);
    const results = await Promise.all(crowd.map((m) => m.waitFor('accept_result', requestId)));

    // Assert: one winner, the rest already_matched, and the table agrees
    const winners = crowd.filter((_, i) => results[i]!.ok === true);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.ok === false && r.reason === 'already_matched')).toHaveLength(MECHANICS - 1);
    const [winner] = winners;
    const view = await api<{ request: { state: string; mechanic_id: string } }>(sandbox, 'GET', `/sessions/${requestId.slice('req-'.length)}`, {
      token: customer,
    });
    expect(view.body.request).toMatchObject({ state: 'matched', mechanic_id: winner!.mechanicId });

    // Assert: O(1) per accept — one push each (its own answer); no Query but the winner's two (its own other devices, for
    // by_you, and the customer's connections, for session_status matched), one hand-over in all (the winner's)
    const accepts = await eventually(() => {
      const mine = sandbox
        .invocations()
        .slice(before)
        .filter((r) => r.function === 'wsAccept');
      return mine.length >= MECHANICS && mine;
    }, `${MECHANICS} wsAccept invocations`);
    expect(accepts.every((r) => r.ok && r.calls.PostToConnection === 1)).toBe(true);
    expect(accepts.map((r) => r.calls.Query ?? 0).sort((a, b) => b - a)).toEqual([2, ...Array(MECHANICS - 1).fill(0)]);
    expect(accepts.reduce((sum, r) => sum + (r.calls.Invoke ?? 0), 0)).toBe(1);

    // Assert: the 199 others hear it is taken; once the fan-out is over (the split and one run per shard), the winner has not
    await Promise.all(crowd.filter((m) => m !== winner).map((m) => m.waitFor('request_taken', requestId)));
    await eventually(
      () => sandbox.invocations().filter((r) => r.function === 'fanOut' && r.requestId === requestId).length >= 2 * (1 + CONNECTION_SHARDS),
      'both fan-outs of the request (new_request, request_taken) to finish',
    );
    await roundTrip(winner!);
    expect(winner!.of('request_taken', requestId)).toEqual([]);
  });
});
