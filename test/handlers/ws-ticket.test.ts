/**
 * POST /ws/ticket and the `$connect` authorizer redeeming its tickets,
 * through the handlers with API Gateway's events on a dynalite table. A
 * ticket is stored by its hash only, bound to the caller and role; the
 * authorizer uses it up on the first handshake: a replayed, expired or forged
 * ticket is API Gateway's 401 ("Unauthorized"), a mechanic's ticket still
 * needs an approved mechanic (403 otherwise), and `role` in the URL cannot
 * change the ticket's.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbTicketStore } from '../../lambdas/adapters/dynamodb-ticket-store';
import { newTicket, ticketHash } from '../../lambdas/domain/tickets';
import { handler as wsAuthorizer } from '../../lambdas/handlers/ws-authorizer';
import { handler as wsTicket } from '../../lambdas/handlers/ws-ticket';
import { httpEvent, responseOf, wsAuthorizerEvent } from '../support/handler-events';
import { type AwsWires, captureLogs, keysWithPrefix, newCustomerId, useHandlerEnv } from '../support/handler-env';
import type { TestTable } from '../support/table';

let wires: AwsWires;
let table: TestTable;
const logs = captureLogs();
useHandlerEnv(
  (env) => {
    ({ table, wires } = env);
  },
  { logs },
);

async function ticketFor(sub: string, body?: unknown): Promise<{ ticket: string; expires_at: string }> {
  const response = responseOf(await wsTicket(httpEvent({ method: 'POST', route: '/ws/ticket', sub, ...(body === undefined ? {} : { body }) })));
  expect(response.status).toBe(201);
  return response.body as { ticket: string; expires_at: string };
}

describe('POST /ws/ticket', () => {
  it('answers 201 {ticket, expires_at} 60 s ahead, not cacheable; the table keeps only its hash', async () => {
    // Arrange
    const before = Date.now();

    // Act
    const raw = await wsTicket(httpEvent({ method: 'POST', route: '/ws/ticket', sub: newCustomerId(), body: { role: 'customer' } }));
    const { status, body } = responseOf(raw);

    // Assert
    expect(status).toBe(201);
    expect(Object.keys(body).sort()).toEqual(['expires_at', 'ticket']);
    expect(body.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const lifetime = Date.parse(body.expires_at) - before;
    expect(lifetime).toBeGreaterThan(55_000);
    expect(lifetime).toBeLessThanOrEqual(61_000);
    expect(raw.headers?.['cache-control']).toBe('no-store');
    expect(await keysWithPrefix(table, `TICKET#${ticketHash(body.ticket)}`)).toHaveLength(1);
    expect(await keysWithPrefix(table, `TICKET#${body.ticket}`)).toEqual([]);
    expect(JSON.stringify(logs.lines)).not.toContain(body.ticket);
  });

  it.each([
    ['an unknown role', { role: 'admin' }, 'role must be one of mechanic, customer'],
    ['a role of the wrong type', { role: 7 }, 'role must be one of mechanic, customer'],
  ])('%s → 400 naming the field, nothing stored', async (_, body, message) => {
    // Arrange
    const stored = (await keysWithPrefix(table, 'TICKET#')).length;

    // Act
    const response = responseOf(await wsTicket(httpEvent({ method: 'POST', route: '/ws/ticket', sub: newCustomerId(), body })));

    // Assert
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: { code: 'invalid_request', message } });
    expect(await keysWithPrefix(table, 'TICKET#')).toHaveLength(stored);
  });

  it('malformed JSON → 400 invalid_json', async () => {
    // Act
    const response = responseOf(await wsTicket(httpEvent({ method: 'POST', route: '/ws/ticket', sub: newCustomerId(), body: '{"role":' })));

    // Assert
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_json');
  });
});

describe('$connect with ?ticket=', () => {
  it("a customer's ticket → Allow as that customer, once; the replay → Unauthorized", async () => {
    // Arrange
    const customerId = newCustomerId();
    const { ticket } = await ticketFor(customerId, { role: 'customer' });
    const event = wsAuthorizerEvent({ ticket });

    // Act
    const first = await wsAuthorizer(event);
    const replay = wsAuthorizer(wsAuthorizerEvent({ ticket }));

    // Assert
    expect(first).toEqual({
      principalId: customerId,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
      context: { role: 'customer', customer_id: customerId },
    });
    await expect(replay).rejects.toThrowError(/^Unauthorized$/);
    expect(await keysWithPrefix(table, `TICKET#${ticketHash(ticket)}`)).toEqual([]);
  });

  it("an approved mechanic's ticket (no body: a mechanic's) → Allow with the mechanic's context", async () => {
    // Arrange
    const mechanic = await wires.addMechanic({ connections: 0, workshopId: 'ws-north' });
    const { ticket } = await ticketFor(mechanic.mechanicId);

    // Act
    const result = await wsAuthorizer(wsAuthorizerEvent({ ticket }));

    // Assert
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
    expect(result.context).toEqual({ role: 'mechanic', mechanic_id: mechanic.mechanicId, workshop_id: 'ws-north', paused: 'false' });
  });

  it("role in the URL cannot change the ticket's: a customer's ticket with role=mechanic connects a customer", async () => {
    // Arrange
    const customerId = newCustomerId();
    const { ticket } = await ticketFor(customerId, { role: 'customer' });

    // Act
    const result = await wsAuthorizer(wsAuthorizerEvent({ ticket, role: 'mechanic' }));

    // Assert
    expect(result.context).toEqual({ role: 'customer', customer_id: customerId });
  });

  it("a mechanic's ticket for someone who is not an approved mechanic → Deny (403), and the ticket is used up", async () => {
    // Arrange
    const pending = await wires.addMechanic({ status: 'pending', connections: 0 });
    const { ticket } = await ticketFor(pending.mechanicId, { role: 'mechanic' });
    const event = wsAuthorizerEvent({ ticket });

    // Act
    const result = await wsAuthorizer(event);

    // Assert
    expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }]);
    expect(result.context).toEqual({});
    expect(await keysWithPrefix(table, `TICKET#${ticketHash(ticket)}`)).toEqual([]);
  });

  it('an expired ticket → Unauthorized', async () => {
    // Arrange: a ticket whose minute passed (stored as the ticket route stores one)
    const ticket = newTicket();
    await new DynamoDbTicketStore(table.db, table.tableName).put(ticketHash(ticket), {
      subject: newCustomerId(),
      role: 'customer',
      expires_at: new Date(Date.now() - 1000).toISOString(),
    });

    // Act
    const outcome = wsAuthorizer(wsAuthorizerEvent({ ticket }));

    // Assert
    await expect(outcome).rejects.toThrowError(/^Unauthorized$/);
  });

  it.each([
    ['never issued', () => newTicket()],
    ["a real ticket's hash (what the table holds)", async () => ticketHash((await ticketFor(newCustomerId(), { role: 'customer' })).ticket)],
    ['not a ticket at all', () => "x' OR 1=1"],
  ])('a forged ticket (%s) → Unauthorized', async (_, forge) => {
    // Arrange
    const ticket = await forge();

    // Act
    const outcome = wsAuthorizer(wsAuthorizerEvent({ ticket }));

    // Assert
    await expect(outcome).rejects.toThrowError(/^Unauthorized$/);
  });

  it('neither ticket nor token → Unauthorized (API Gateway calls the authorizer: it names no identity source)', async () => {
    // Act + Assert
    await expect(wsAuthorizer(wsAuthorizerEvent({}))).rejects.toThrowError(/^Unauthorized$/);
    await expect(wsAuthorizer(wsAuthorizerEvent({ role: 'customer' }))).rejects.toThrowError(/^Unauthorized$/);
  });
});
