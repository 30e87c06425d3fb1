/**
 * Single-use WebSocket connect tickets, end to end in the sandbox over HTTP
 * and real `ws` clients: `POST /ws/ticket` (JWT in the Authorization header,
 * a customer's or a mechanic's) answers a ticket that `$connect?ticket=`
 * accepts once, in the role it was issued for; a replayed, expired or forged
 * ticket is refused at the handshake with API Gateway's 401, and of several
 * handshakes racing with one ticket exactly one connects. `?token=` keeps
 * working for existing clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { api, eventually, handshakeStatus, MechanicClient, registerMechanic, startTestSandbox } from './clients';

let sandbox: Sandbox;
const clients: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox?.stop();
});

const keep = (client: MechanicClient): MechanicClient => {
  clients.push(client);
  return client;
};

async function ticketOf(sub: string, body?: unknown): Promise<{ ticket: string; expires_at: string }> {
  const answer = await api<{ ticket: string; expires_at: string }>(sandbox, 'POST', '/ws/ticket', {
    token: await sandbox.token({ sub }),
    ...(body === undefined ? {} : { body }),
  });
  expect(answer.status).toBe(201);
  return answer.body;
}

const withTicket = (ticket: string): string => `${sandbox.wsUrl}?ticket=${encodeURIComponent(ticket)}`;

describe('connecting with a ticket', () => {
  it('a mechanic connects with one and gets offers: a broadcast booking reaches them, sync answers offers', async () => {
    // Arrange
    const mechanic = keep(await MechanicClient.connectWithTicket(sandbox, await registerMechanic(sandbox)));

    // Act
    const booked = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: 'cust-ticket-1' }),
      body: { plan: 'free', concern: 'Ticket mechanic' },
    });
    mechanic.send({ action: 'sync' });

    // Assert
    expect(booked.status).toBe(201);
    await mechanic.waitFor('new_request', booked.body.request_id);
    const offers = await mechanic.waitFor('offers');
    expect((offers.offers as { request_id: string }[]).map((o) => o.request_id)).toContain(booked.body.request_id);
  });

  it("a customer connects with one (role customer) and hears their own booking's status", async () => {
    // Arrange
    const customer = keep(await MechanicClient.connectWithTicket(sandbox, 'cust-ticket-2', { role: 'customer' }));

    // Act
    const booked = await api<{ session_id: string }>(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: 'cust-ticket-2' }),
      body: { plan: 'free', concern: 'Ticket customer' },
    });

    // Assert
    const status = await eventually(() => customer.of('session_status').find((m) => m.session_id === booked.body.session_id), 'session_status');
    expect(status).toMatchObject({ type: 'session_status', session_id: booked.body.session_id, state: 'open' });
  });

  it("a customer's ticket cannot open a mechanic's connection: the role is the ticket's, whatever the URL says", async () => {
    // Arrange
    const mechanicId = await registerMechanic(sandbox);
    const { ticket } = await ticketOf(mechanicId, { role: 'customer' });

    // Act: a customer-role ticket of a registered mechanic's id, with role=mechanic in the URL
    const client = keep(await MechanicClient.open(`${withTicket(ticket)}&role=mechanic`, mechanicId));
    client.send({ action: 'accept', request_id: 'req-00000000-0000-4000-8000-000000000000' });

    // Assert: a customer's connection may not accept
    const error = await client.waitFor('error');
    expect(error.code).toBe('forbidden_for_customers');
  });
});

describe('refused at the handshake', () => {
  it('a replayed ticket → 401', async () => {
    // Arrange
    const { ticket } = await ticketOf(await registerMechanic(sandbox));
    expect(await handshakeStatus(withTicket(ticket))).toBe(101);

    // Act
    const replay = await handshakeStatus(withTicket(ticket));

    // Assert
    expect(replay).toBe(401);
  });

  it('of 8 handshakes racing with one ticket, exactly one connects; the others get 401', async () => {
    // Arrange
    const { ticket } = await ticketOf('cust-racing', { role: 'customer' });

    // Act
    const statuses = await Promise.all(Array.from({ length: 8 }, () => handshakeStatus(withTicket(ticket))));

    // Assert
    expect(statuses.filter((s) => s === 101)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(7);
  });

  it.each([
    ['a well-formed ticket never issued', () => 'A'.repeat(43)],
    ['a JWT in place of a ticket', () => sandbox.token({ sub: 'cust-forger' })],
    ['garbage', () => "x' OR '1'='1"],
  ])('a forged ticket (%s) → 401', async (_, forge) => {
    // Act
    const status = await handshakeStatus(withTicket(await forge()));

    // Assert
    expect(status).toBe(401);
  });

  it("a mechanic's ticket asked for by a customer names that customer, who is no approved mechanic → 403", async () => {
    // Arrange: a customer asks for a mechanic ticket (their own id is nobody's mechanic id)
    const { ticket } = await ticketOf('cust-posing', { role: 'mechanic' });

    // Act
    const status = await handshakeStatus(withTicket(ticket));

    // Assert
    expect(status).toBe(403);
  });

  it('POST /ws/ticket without a valid JWT → 401 from the gateway, no ticket', async () => {
    // Act
    const none = await api(sandbox, 'POST', '/ws/ticket', { body: { role: 'customer' } });
    const bad = await api(sandbox, 'POST', '/ws/ticket', { token: 'not-a-jwt', body: { role: 'customer' } });

    // Assert
    expect([none.status, bad.status]).toEqual([401, 401]);
    expect(none.body).toEqual({ message: 'Unauthorized' });
  });
});

describe('an expired ticket', () => {
  it('→ 401 once its expires_at has passed (a sandbox whose tickets live 1 s)', async () => {
    // Arrange
    const shortLived = await startTestSandbox({ wsTicketTtlSeconds: 1 });
    try {
      const answer = await api<{ ticket: string; expires_at: string }>(shortLived, 'POST', '/ws/ticket', {
        token: await shortLived.token({ sub: 'cust-late' }),
        body: { role: 'customer' },
      });
      expect(answer.status).toBe(201);
      // Waits past the deadline the server stated (not a guess at how long things take).
      await eventually(() => Date.now() > Date.parse(answer.body.expires_at) + 50, 'the ticket to expire');

      // Act
      const status = await handshakeStatus(`${shortLived.wsUrl}?ticket=${encodeURIComponent(answer.body.ticket)}`);

      // Assert
      expect(status).toBe(401);
    } finally {
      await shortLived.stop();
    }
  });
});

describe('?token= still works for existing clients', () => {
  it('a mechanic and a customer connect with a JWT in the URL as before', async () => {
    // Act
    const mechanic = keep(await MechanicClient.connect(sandbox, await registerMechanic(sandbox)));
    const customer = keep(await MechanicClient.connect(sandbox, 'cust-token', { role: 'customer' }));
    mechanic.send({ action: 'ping' });
    customer.send({ action: 'ping' });

    // Assert
    await mechanic.waitFor('pong');
    await customer.waitFor('pong');
  });

  it('no token and no ticket → 401 (the authorizer, called on every handshake, says so)', async () => {
    // Act + Assert
    expect(await handshakeStatus(sandbox.wsUrl)).toBe(401);
    expect(await handshakeStatus(`${sandbox.wsUrl}?ticket=`)).toBe(401);
  });
});

describe('the ticket stays out of the logs', () => {
  it('neither the handlers nor the sandbox write a ticket down', async () => {
    // Arrange
    const { ticket } = await ticketOf('cust-quiet', { role: 'customer' });

    // Act
    await handshakeStatus(withTicket(ticket));
    await handshakeStatus(withTicket(ticket));

    // Assert
    expect(sandbox.logs.filter((line) => line.includes(ticket))).toEqual([]);
  });
});
