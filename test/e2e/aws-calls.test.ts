/**
 * The AWS calls each path makes, counted by the sandbox per invocation (every
 * SDK call of a container, by operation), against the design: the request
 * path's calls do not grow with the number of connected mechanics — a
 * broadcast is one hand-over to the fan-out — the favorite's offer leaves
 * after a handful of calls, and an accept of a request already taken is one
 * read and its answer besides its count (what most of an accept storm is). Every message a
 * mechanic sends that does table work (accept, decline, sync, pause/resume)
 * first costs one UpdateItem: its count against the connection's per-second
 * limit (lambdas/use-cases/message-rate.ts). Every change a
 * customer is told of (`session_status`: offered, open, an ending) costs one
 * Query of the customer's connections, and one push per connection of theirs
 * (none here unless said). The table printed here is the one in the README.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import type { InvocationRecord } from '../../sandbox/lambda-host';
import { DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER } from '../../contract/env';
import { api, eventually, MechanicClient, registerMechanic, startTestSandbox } from './clients';

let sandbox: Sandbox;
let customerToken: string;
const clients: MechanicClient[] = [];
const table: string[] = [];

beforeAll(async () => {
  // A window long enough to act inside it; expiry far away.
  // The stack's open-bookings limit: the refused intake's calls depend on it (each booking on the list is read).
  sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: 300, maxOpenBookingsPerCustomer: DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER });
  customerToken = await sandbox.token({ sub: 'customer-calls' });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox?.stop();
  console.log(`AWS calls per path (sandbox count):\n${table.join('\n')}`);
});

async function connect(): Promise<MechanicClient> {
  const client = await MechanicClient.connect(sandbox, await registerMechanic(sandbox));
  clients.push(client);
  return client;
}

/** The invocations `act` caused of one function (settled), and their calls summed. */
async function callsOf(
  fn: InvocationRecord['function'],
  act: () => Promise<unknown>,
  expectedInvocations = 1,
  ofRequest?: () => string,
): Promise<Record<string, number>> {
  const before = sandbox.invocations().length;
  await act();
  const mine = await eventually(() => {
    const records = sandbox
      .invocations()
      .slice(before)
      .filter((r) => r.function === fn && (!ofRequest || r.requestId === ofRequest()));
    return records.length >= expectedInvocations && records;
  }, `${expectedInvocations} invocation(s) of ${fn}`);
  const total: Record<string, number> = {};
  for (const record of mine) for (const [operation, n] of Object.entries(record.calls)) total[operation] = (total[operation] ?? 0) + n;
  return total;
}

const sum = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);
const note = (path: string, calls: Record<string, number>): void => {
  table.push(`${path.padEnd(44)} ${String(sum(calls)).padStart(3)}  ${JSON.stringify(calls)}`);
};

let customers = 0;

/** A booking of a customer of its own (the paths here leave bookings open: one customer would reach the limit), or of `token`'s. */
async function book(body: Record<string, unknown>, token?: string): Promise<string> {
  const answer = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', {
    token: token ?? (await sandbox.token({ sub: `customer-calls-${++customers}` })),
    body: { plan: 'free', concern: 'Brakes', ...body },
  });
  expect(answer.status).toBe(201);
  return answer.body.request_id;
}

describe('AWS calls per path', () => {
  it('a broadcast booking hands the message over once: the same calls with 0 and with 12 mechanics connected', async () => {
    const none = await callsOf('intakeStart', () => book({}));
    for (let i = 0; i < 12; i++) await connect();
    const twelve = await callsOf('intakeStart', () => book({}));
    note('broadcast booking (intake), 12 mechanics', twelve);
    expect(twelve).toEqual(none);
    // UpdateItem ×2: the customer's open-bookings hold, then `opened`; Query: the customer's connections (session_status open).
    expect(twelve).toEqual({ CreateSchedule: 1, PutItem: 1, Invoke: 1, UpdateItem: 2, UpdateSchedule: 1, Query: 1 });
  });

  it('a customer watching their booking: the same calls, plus one push of session_status per connection of theirs', async () => {
    // A customer of their own (the other paths' bookings must not find this connection, closed or closing), and not
    // one of `clients`: those are the mechanics the fan-out below counts.
    const watching = await MechanicClient.connect(sandbox, 'customer-watching', { role: 'customer' });
    const token = await sandbox.token({ sub: 'customer-watching' });
    try {
      const calls = await callsOf('intakeStart', () => api(sandbox, 'POST', '/intake/start', { token, body: { plan: 'free', concern: 'Watched' } }));
      note('broadcast booking (intake), customer online', calls);
      expect(calls).toEqual({ CreateSchedule: 1, PutItem: 1, Invoke: 1, UpdateItem: 2, UpdateSchedule: 1, Query: 1, PostToConnection: 1 });
    } finally {
      await watching.close();
    }
  });

  it('a priority booking: the offer leaves after the hold, the flag, the favorite and the timer; 10 calls in all', async () => {
    const favorite = await connect();
    const calls = await callsOf('intakeStart', () =>
      book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast', concern: 'Priority calls' }),
    );
    note('priority booking (intake), favorite online', calls);
    // GetParameter only when the flag's cache is cold (first priority booking of a container).
    const { GetParameter = 0, ...rest } = calls;
    expect(GetParameter).toBeLessThanOrEqual(1);
    // Query ×2: the favorite's connections, then the customer's (session_status offered, after the offer left); UpdateItem ×2: the hold, `offer_sent`.
    expect(rest).toEqual({ CreateSchedule: 1, PutItem: 1, GetItem: 1, Query: 2, PostToConnection: 1, UpdateItem: 2, UpdateSchedule: 1 });
  });

  it('accept of an offered request (favorite, one connection), of an open one, and of one already taken', async () => {
    const favorite = await connect();
    const offered = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast', concern: 'Accept offered' });
    await favorite.waitFor('priority_session_request', offered);
    const acceptOffered = await callsOf('wsAccept', async () => favorite.accept(offered));
    note('accept (offered to the favorite)', acceptOffered);
    // The message counted against the connection's limit, the win, then the customer's place freed (UpdateItem ×3); the
    // request, then the mechanic, read; the favorite was the whole audience: nobody else to tell; one Query of the
    // favorite's own connections (by_you to any other device; here none) and one of the customer's (session_status
    // matched), no push but the answer.
    expect(acceptOffered).toEqual({ GetItem: 2, UpdateItem: 3, PostToConnection: 1, Query: 2, DeleteSchedule: 1 });

    const open = await book({ concern: 'Accept open' });
    await favorite.waitFor('new_request', open);
    const acceptOpen = await callsOf('wsAccept', async () => favorite.accept(open));
    note('accept (open to everyone)', acceptOpen);
    expect(acceptOpen).toEqual({ GetItem: 2, UpdateItem: 3, PostToConnection: 1, Invoke: 1, Query: 2, DeleteSchedule: 1 });

    // An accept of a request already taken: the count, the read that says so, its answer; no mechanic read, no write of the booking, nobody told.
    const loser = clients.find((c) => c !== favorite)!;
    const acceptLost = await callsOf('wsAccept', async () => loser.accept(open));
    note('accept (already matched)', acceptLost);
    expect(await loser.waitFor('accept_result', open)).toEqual({ type: 'accept_result', request_id: open, ok: false, reason: 'already_matched' });
    expect(acceptLost).toEqual({ UpdateItem: 1, GetItem: 1, PostToConnection: 1 });
  });

  it('decline by the favorite and cancel of an open request', async () => {
    const favorite = await connect();
    const offered = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast', concern: 'Decline' });
    await favorite.waitFor('priority_session_request', offered);
    const decline = await callsOf('wsDecline', async () => favorite.decline(offered));
    note('decline (by the favorite)', decline);
    // One UpdateItem counts the message, one remembers the decline (no later offer reaches the favorite), two move the
    // request; Query: the customer's connections (open).
    expect(decline).toEqual({ GetItem: 1, UpdateSchedule: 2, UpdateItem: 4, Invoke: 1, Query: 1 });

    const open = await book({ concern: 'Cancel' }, customerToken);
    const sessionId = open.slice('req-'.length);
    const cancel = await callsOf('cancelSession', () => api(sandbox, 'POST', `/sessions/${sessionId}/cancel`, { token: customerToken }));
    note('cancel (open request)', cancel);
    // UpdateItem ×2: `cancelled`, then the customer's place freed.
    expect(cancel).toEqual({ GetItem: 1, UpdateItem: 2, Invoke: 1, Query: 1, DeleteSchedule: 1 });
  });

  it('an intake at the open-bookings limit: the refused hold, the list and its bookings read (nothing stale), and nothing else', async () => {
    // Arrange: a customer of their own at the limit
    const token = await sandbox.token({ sub: 'customer-at-limit' });
    for (let i = 0; i < DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER; i++) await book({ concern: `Limit ${i}` }, token);

    // Act
    const calls = await callsOf('intakeStart', () => api(sandbox, 'POST', '/intake/start', { token, body: { plan: 'free', concern: 'One too many' } }));

    // Assert: UpdateItem (the hold, refused: nothing written), GetItem of the list, one GetItem per booking on it
    note(`intake refused at the limit (${DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER} open)`, calls);
    expect(calls).toEqual({ UpdateItem: 1, GetItem: 1 + DEFAULT_MAX_OPEN_BOOKINGS_PER_CUSTOMER });
  });

  it('a connect ticket: one PutItem to issue it; one DeleteItem to use it (and the mechanic read, for a mechanic)', async () => {
    // Arrange
    const mechanicId = await registerMechanic(sandbox);
    const token = await sandbox.token({ sub: mechanicId });
    let ticket = '';

    // Act
    const issue = await callsOf('wsTicket', async () => {
      ticket = (await api<{ ticket: string }>(sandbox, 'POST', '/ws/ticket', { token })).body.ticket;
    });
    const connect = await callsOf('wsAuthorizer', async () => {
      const client = await MechanicClient.open(`${sandbox.wsUrl}?ticket=${encodeURIComponent(ticket)}`, mechanicId);
      await client.close();
    });

    // Assert
    note('ws ticket (issue)', issue);
    note('$connect with a ticket (mechanic)', connect);
    expect(issue).toEqual({ PutItem: 1 });
    expect(connect).toEqual({ DeleteItem: 1, GetItem: 1 });
  });

  it('sync: the count, one read of the mechanic (paused?), one Query of the pending index per audience (everyone, themselves), one BatchGetItem of their declines, one answer', async () => {
    const mechanic = await connect();
    const open = await book({ concern: 'Sync calls' });
    const calls = await callsOf('wsSync', async () => mechanic.send({ action: 'sync' }));
    note('sync (mechanic without a workshop)', calls);
    const answer = await mechanic.waitFor('offers');
    expect((answer.offers as { request_id: string }[]).map((o) => o.request_id)).toContain(open);
    expect(calls).toEqual({ UpdateItem: 1, GetItem: 1, Query: 2, BatchGetItem: 1, PostToConnection: 1 });
  });

  it('the fan-out of an offer: one split invocation per shard hand-over, then per shard one Query of its connections and one of who declined, and one push per connection', async () => {
    const connected = clients.length;
    let requestId = '';
    const calls = await callsOf(
      'fanOut',
      async () => {
        requestId = await book({ concern: 'Fan-out calls' });
      },
      17,
      () => requestId,
    );
    note(`fan-out of one broadcast (17 invocations, ${connected} connections)`, calls);
    expect(calls.Invoke).toBe(16);
    expect(calls.Query).toBe(32);
    expect(calls.PostToConnection).toBe(connected);
  });
});
