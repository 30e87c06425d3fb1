/**
 * WebSocket connect tickets on the in-memory ports: issued bound to the
 * caller and role, valid for the ticket TTL from the injected clock, redeemed
 * once; a replayed, expired or forged one is nothing, and no ticket is ever
 * written to the logs. The handshake itself: test/handlers/ws-authorizer.test.ts
 * and test/e2e/tickets.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { TICKET, ticketHash } from '../../../lambdas/domain/tickets';
import { issueTicket, redeemTicket } from '../../../lambdas/use-cases/tickets';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { at } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps();
});

describe('issueTicket', () => {
  it('answers an opaque 256-bit ticket valid for the ticket TTL, stored by its hash only', async () => {
    // Act
    const answer = await issueTicket(deps, { subject: 'cust-1', role: 'customer' });

    // Assert
    expect(answer.ticket).toMatch(TICKET);
    expect(answer.expires_at).toBe(at(deps.ticketTtlSeconds));
    expect(await deps.tickets.take(answer.ticket, at(0))).toBeUndefined();
    expect(await deps.tickets.take(ticketHash(answer.ticket), at(0))).toEqual({ subject: 'cust-1', role: 'customer', expires_at: answer.expires_at });
  });

  it('never hands out the same ticket twice', async () => {
    // Act
    const tickets = await Promise.all(Array.from({ length: 50 }, () => issueTicket(deps, { subject: 'mech-1', role: 'mechanic' })));

    // Assert
    expect(new Set(tickets.map((t) => t.ticket)).size).toBe(50);
  });
});

describe('redeemTicket', () => {
  it('gives the caller and role once; the replay is nothing', async () => {
    // Arrange
    const { ticket } = await issueTicket(deps, { subject: 'mech-1', role: 'mechanic' });

    // Act
    const first = await redeemTicket(deps, ticket);
    const replay = await redeemTicket(deps, ticket);

    // Assert
    expect(first).toMatchObject({ subject: 'mech-1', role: 'mechanic' });
    expect(replay).toBeUndefined();
  });

  it('is nothing once expired (at expires_at and after), and good until then', async () => {
    // Arrange
    const late = await issueTicket(deps, { subject: 'cust-1', role: 'customer' });
    const onTime = await issueTicket(deps, { subject: 'cust-1', role: 'customer' });

    // Act
    deps.clock.advance(deps.ticketTtlSeconds - 1);
    const justInTime = await redeemTicket(deps, onTime.ticket);
    deps.clock.advance(1);
    const expired = await redeemTicket(deps, late.ticket);

    // Assert
    expect(justInTime).toMatchObject({ subject: 'cust-1' });
    expect(expired).toBeUndefined();
  });

  it.each([
    ['a well-formed ticket never issued', 'A'.repeat(43)],
    ['the hash of a real ticket', 'hash'],
    ['too short', 'abc'],
    ['not base64url', `${'a'.repeat(42)}=`],
    ['empty', ''],
  ])('is nothing for a forged ticket: %s', async (_, forged) => {
    // Arrange
    const { ticket } = await issueTicket(deps, { subject: 'cust-1', role: 'customer' });
    const presented = forged === 'hash' ? ticketHash(ticket) : forged;

    // Act + Assert
    expect(await redeemTicket(deps, presented)).toBeUndefined();
  });

  it('never writes a ticket to the logs', async () => {
    // Arrange
    const { ticket } = await issueTicket(deps, { subject: 'cust-1', role: 'customer' });

    // Act
    await redeemTicket(deps, ticket);
    await redeemTicket(deps, ticket);

    // Assert
    expect(JSON.stringify(deps.log.lines)).not.toContain(ticket);
    expect(deps.log.messages('[connect] Handshake refused')).toEqual(['[connect] Handshake refused: ticket unknown, used or expired']);
  });
});
