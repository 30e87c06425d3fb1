/**
 * AWS calls per path, as the sandbox counts them (`sandbox.invocations()`:
 * each finished invocation's SDK calls by operation, pushes included), driven
 * as test/e2e/aws-calls.test.ts drives them but through the bench's fleet.
 * The broadcast booking is counted with no mechanic connected and again with
 * the full crowd: the request path must not grow with it.
 */
import { CONNECTION_SHARDS } from '../contract/table-schema';
import type { InvocationRecord } from '../sandbox/lambda-host';
import type { Crowd } from './crowd';
import { sleep } from './stats';

export interface PathCalls {
  path: string;
  mechanics: number;
  /** Invocations counted (the fan-out's split and shard runs are several). */
  invocations: number;
  total: number;
  calls: Record<string, number>;
}

/** A broadcast booking's intake: call it at 0 mechanics and at the largest crowd. */
export async function broadcastBookingCalls(crowd: Crowd): Promise<PathCalls> {
  return count(crowd, 'broadcast booking (intake)', 'intakeStart', () => crowd.book({ concern: 'Calls: broadcast' }));
}

/** One broadcast's fan-out at the crowd's size: the split invocation, then one per connection shard. */
export async function fanOutCalls(crowd: Crowd): Promise<PathCalls> {
  let requestId = '';
  return count(
    crowd,
    `fan-out of one broadcast (1 + ${CONNECTION_SHARDS} invocations)`,
    'fanOut',
    async () => {
      requestId = (await crowd.book({ concern: 'Calls: fan-out' })).requestId;
    },
    1 + CONNECTION_SHARDS,
    () => requestId,
  );
}

/** The priority, accept, decline and cancel paths; mechanic 0 is the favorite, mechanic 1 a loser. Needs 2 connected. */
export async function requestPathCalls(crowd: Crowd): Promise<PathCalls[]> {
  const favorite = crowd.mechanics[0];
  const priority = { preferred_mechanic_id: favorite, routing_type: 'priority_broadcast' };
  const rows: PathCalls[] = [];

  let offered = '';
  rows.push(
    await count(crowd, 'priority booking (intake), favorite online', 'intakeStart', async () => {
      offered = (await crowd.book({ ...priority, concern: 'Calls: priority' })).requestId;
    }),
  );
  await crowd.reached('priority_session_request', offered, [0]);
  rows.push(await count(crowd, 'accept (offered to the favorite)', 'wsAccept', () => crowd.send(0, { action: 'accept', request_id: offered })));

  const open = (await crowd.book({ concern: 'Calls: accept open' })).requestId;
  await crowd.reached('new_request', open, [0, 1]);
  rows.push(await count(crowd, 'accept (open to everyone)', 'wsAccept', () => crowd.send(0, { action: 'accept', request_id: open })));
  rows.push(await count(crowd, 'accept (lost: already matched)', 'wsAccept', () => crowd.send(1, { action: 'accept', request_id: open })));

  const declined = (await crowd.book({ ...priority, concern: 'Calls: decline' })).requestId;
  await crowd.reached('priority_session_request', declined, [0]);
  rows.push(await count(crowd, 'decline (by the favorite)', 'wsDecline', () => crowd.send(0, { action: 'decline', request_id: declined })));

  const toCancel = await crowd.book({ concern: 'Calls: cancel' });
  rows.push(
    await count(crowd, 'cancel (open request)', 'cancelSession', async () => {
      const response = await fetch(`${crowd.sandbox.httpUrl}/sessions/${toCancel.sessionId}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${toCancel.customerToken}` },
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`cancel answered ${response.status}`);
    }),
  );
  return rows;
}

/** The invocations of `fn` that `act` caused (settled), their calls summed. */
async function count(
  crowd: Crowd,
  path: string,
  fn: InvocationRecord['function'],
  act: () => Promise<unknown>,
  expected = 1,
  ofRequest?: () => string,
): Promise<PathCalls> {
  // The sandbox keeps the last few thousand records: find ours after the last one seen, not by position.
  const marker = crowd.sandbox.invocations().at(-1);
  await act();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const records = crowd.sandbox.invocations();
    const mine = records.slice(marker ? records.indexOf(marker) + 1 : 0).filter((r) => r.function === fn && (!ofRequest || r.requestId === ofRequest()));
    if (mine.length >= expected) {
      const calls: Record<string, number> = {};
      for (const record of mine) for (const [operation, n] of Object.entries(record.calls)) calls[operation] = (calls[operation] ?? 0) + n;
      return { path, mechanics: crowd.size, invocations: mine.length, total: Object.values(calls).reduce((a, b) => a + b, 0), calls };
    }
    if (Date.now() > deadline) throw new Error(`${path}: ${mine.length} of ${expected} invocation(s) of ${fn} after 120 s`);
    await sleep(25);
  }
}
