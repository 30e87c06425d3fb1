/**
 * Live customer status (issue #10), with real `ws` clients against the
 * sandbox: a customer connected with `?token=…&role=customer` hears
 * `session_status` at each change of their booking (offered to the favorite,
 * open to everyone, matched, cancelled), never an offer and never another
 * customer's status; mechanics never hear anyone's status; a customer
 * sending a mechanic's action gets an `error` event and stays connected;
 * `sync` answers their latest bookings' status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { api, eventually, handshakeStatus, MechanicClient, type Message, registerMechanic, roundTrip, sessionView, startTestSandbox } from './clients';

let sandbox: Sandbox;
const clients: MechanicClient[] = [];

beforeAll(async () => {
  // A window far longer than any test: the request opens because the favorite declines, not because time ran out.
  sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: 600 });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox.stop();
});

const newCustomerId = (): string => `cust-${crypto.randomUUID().slice(0, 8)}`;

async function connectMechanic(): Promise<MechanicClient> {
  const client = await MechanicClient.connect(sandbox, await registerMechanic(sandbox));
  clients.push(client);
  return client;
}

async function connectCustomer(customerId: string): Promise<MechanicClient> {
  const client = await MechanicClient.connect(sandbox, customerId, { role: 'customer' });
  clients.push(client);
  return client;
}

async function book(customerId: string, body: Record<string, unknown> = {}): Promise<{ sessionId: string; requestId: string }> {
  const answer = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: customerId }),
    body: { plan: 'free', concern: 'Customer status', ...body },
  });
  expect(answer.status).toBe(201);
  return { sessionId: answer.body.session_id, requestId: answer.body.request_id };
}

/** The session_status the client heard for the session in that state (waits for it). */
const statusOf = (client: MechanicClient, sessionId: string, state: string): Promise<Message> =>
  eventually(() => client.of('session_status').find((m) => m.session_id === sessionId && m.state === state), `session_status ${state} of ${sessionId}`);

describe('session_status at each change of the booking', () => {
  it('a priority booking: offered (the favorite, the window’s end) → open once the favorite declines (its expiry) → matched (the winner); the mechanics hear no status', async () => {
    // Arrange
    const customerId = newCustomerId();
    const customer = await connectCustomer(customerId);
    const favorite = await connectMechanic();
    const winner = await connectMechanic();

    // Act + Assert: offered
    const { sessionId, requestId } = await book(customerId, { preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });
    const offered = await statusOf(customer, sessionId, 'offered');
    const duringWindow = await sessionView(sandbox, customerId, sessionId);
    expect(offered).toEqual({
      type: 'session_status',
      session_id: sessionId,
      state: 'offered',
      mechanic_id: favorite.mechanicId,
      expires_at: duringWindow.request!.expires_at,
    });

    // Act + Assert: open, after the favorite declines
    await favorite.waitFor('priority_session_request', requestId);
    favorite.decline(requestId);
    const open = await statusOf(customer, sessionId, 'open');
    const opened = await sessionView(sandbox, customerId, sessionId);
    expect(open).toEqual({ type: 'session_status', session_id: sessionId, state: 'open', expires_at: opened.request!.open_until });

    // Act + Assert: matched
    await winner.waitFor('new_request', requestId);
    winner.accept(requestId);
    const matched = await statusOf(customer, sessionId, 'matched');
    expect(matched).toEqual({ type: 'session_status', session_id: sessionId, state: 'matched', mechanic_id: winner.mechanicId });

    // Assert: exactly these, in order, every one stamped; nothing of anyone's status on a mechanic's connection
    await Promise.all([customer, favorite, winner].map((c) => roundTrip(c)));
    expect(customer.of('session_status').map((m) => m.state)).toEqual(['offered', 'open', 'matched']);
    for (const message of customer.of('session_status')) expect(customer.sentAt(message)).toEqual(expect.any(String));
    for (const mechanic of [favorite, winner]) expect(mechanic.of('session_status')).toEqual([]);
  });

  it('a cancelled booking shows cancelled', async () => {
    // Arrange
    const customerId = newCustomerId();
    const customer = await connectCustomer(customerId);
    const { sessionId } = await book(customerId);
    await statusOf(customer, sessionId, 'open');

    // Act
    const cancel = await api(sandbox, 'POST', `/sessions/${sessionId}/cancel`, { token: await sandbox.token({ sub: customerId }) });

    // Assert
    expect(cancel.status).toBe(200);
    expect(await statusOf(customer, sessionId, 'cancelled')).toEqual({ type: 'session_status', session_id: sessionId, state: 'cancelled' });
  });

  it('a paid booking shows awaiting_checkout, then open after the checkout', async () => {
    // Arrange
    const customerId = newCustomerId();
    const customer = await connectCustomer(customerId);

    // Act
    const answer = await api<{ session_id: string }>(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: customerId }),
      body: { plan: 'paid', concern: 'Customer status, paid' },
    });
    const sessionId = answer.body.session_id;
    await statusOf(customer, sessionId, 'awaiting_checkout');
    await api(sandbox, 'POST', `/sessions/${sessionId}/checkout/complete`, { token: await sandbox.token({ sub: customerId }) });

    // Assert
    await statusOf(customer, sessionId, 'open');
    await roundTrip(customer);
    expect(customer.of('session_status').map((m) => m.state)).toEqual(['awaiting_checkout', 'open']);
  });
});

describe('nobody hears what is not theirs', () => {
  it("a customer's connection hears no new_request though a broadcast goes out to every shard, and no other customer's status", async () => {
    // Arrange
    const [alice, bob] = [newCustomerId(), newCustomerId()];
    const aliceOnline = await connectCustomer(alice);
    const bobOnline = await connectCustomer(bob);
    const mechanic = await connectMechanic();

    // Act: Alice books a broadcast; wait until all 17 fan-out invocations (the split and 16 shards) ran
    const { sessionId, requestId } = await book(alice);
    await mechanic.waitFor('new_request', requestId);
    await eventually(
      () => sandbox.invocations().filter((r) => r.function === 'fanOut' && r.requestId === requestId).length >= 17,
      `the fan-out of ${requestId} to finish`,
    );
    await statusOf(aliceOnline, sessionId, 'open');
    await Promise.all([aliceOnline, bobOnline, mechanic].map((c) => roundTrip(c)));

    // Assert
    expect(aliceOnline.messages.map((m) => m.type)).toEqual(['session_status', 'pong']);
    expect(bobOnline.messages.map((m) => m.type)).toEqual(['pong']);
    expect(mechanic.of('session_status')).toEqual([]);
  });

  it("a mechanic's token never hears a customer's status, even the status of a booking they made as a customer", async () => {
    // Arrange: a mechanic who also books as a customer, connected as a mechanic only
    const mechanic = await connectMechanic();
    const customerOnline = await connectCustomer(mechanic.mechanicId);

    // Act
    const { sessionId } = await book(mechanic.mechanicId);
    await statusOf(customerOnline, sessionId, 'open');
    await roundTrip(mechanic);

    // Assert
    expect(mechanic.of('session_status')).toEqual([]);
    expect(customerOnline.of('new_request')).toEqual([]);
  });
});

describe('what a customer may send', () => {
  it.each(['accept', 'decline', 'pause', 'resume'])(
    '%s → error forbidden_for_customers; the connection stays open and ping is still answered',
    async (action) => {
      // Arrange: a request a mechanic could take
      const customerId = newCustomerId();
      const customer = await connectCustomer(customerId);
      const { sessionId, requestId } = await book(customerId);
      await statusOf(customer, sessionId, 'open');

      // Act
      customer.send({ action, request_id: requestId });
      const error = await customer.waitFor('error');
      await roundTrip(customer);

      // Assert
      expect(error).toEqual({ type: 'error', code: 'forbidden_for_customers', message: 'customers may send only ping, sync' });
      expect(customer.closed).toBe(false);
      expect((await sessionView(sandbox, customerId, sessionId)).request!.state).toBe('open');
    },
  );

  it('a message that is not JSON, or an unknown action → error naming what a customer may send; the connection stays open', async () => {
    // Arrange
    const customer = await connectCustomer(newCustomerId());

    // Act
    customer.send('not json');
    customer.send({ action: 'acept' });
    await eventually(() => customer.of('error').length >= 2, 'two error events');
    await roundTrip(customer);

    // Assert
    expect(customer.of('error')).toEqual(
      expect.arrayContaining([
        { type: 'error', code: 'invalid_json', message: expect.any(String) },
        { type: 'error', code: 'unknown_action', message: 'unknown action "acept"; expected one of ping, sync' },
      ]),
    );
    expect(customer.closed).toBe(false);
  });
});

describe("a customer's sync", () => {
  it('answers sessions: their latest bookings, newest first, each in its current state; nobody else’s', async () => {
    // Arrange: an older booking, cancelled, and a newer one, open; another customer's booking
    const customerId = newCustomerId();
    const older = await book(customerId);
    await api(sandbox, 'POST', `/sessions/${older.sessionId}/cancel`, { token: await sandbox.token({ sub: customerId }) });
    const newer = await book(customerId);
    await book(newCustomerId());
    const customer = await connectCustomer(customerId);

    // Act
    customer.send({ action: 'sync' });
    const answer = await customer.waitFor('sessions');

    // Assert
    expect(answer.sessions).toEqual([
      expect.objectContaining({ session_id: newer.sessionId, state: 'open' }),
      expect.objectContaining({ session_id: older.sessionId, state: 'cancelled' }),
    ]);
    expect(Date.parse(String(answer.server_time))).not.toBeNaN();
  });
});

describe('the customer handshake', () => {
  it('role=customer with a bad token → 401; an unknown role → 403; a valid token → connected', async () => {
    // Arrange
    const token = await sandbox.token({ sub: newCustomerId() });

    // Act + Assert
    expect(await handshakeStatus(`${sandbox.wsUrl}?token=not.a.jwt&role=customer`)).toBe(401);
    expect(await handshakeStatus(`${sandbox.wsUrl}?token=${encodeURIComponent(token)}&role=admin`)).toBe(403);
    expect(await handshakeStatus(`${sandbox.wsUrl}?token=${encodeURIComponent(token)}&role=customer`)).toBe(101);
  });
});
