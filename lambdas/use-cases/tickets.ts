/**
 * WebSocket connect tickets (lambdas/domain/tickets.ts): `POST /ws/ticket`
 * issues one to the caller of a valid JWT; the `$connect` authorizer redeems
 * it, once, instead of a JWT in the URL.
 */
import { newTicket, type Ticket, type TicketRole, TICKET, ticketHash } from '../domain/tickets';
import type { Deps } from './deps';

export async function issueTicket(
  deps: Pick<Deps, 'tickets' | 'clock' | 'ticketTtlSeconds' | 'log'>,
  input: { subject: string; role: TicketRole },
): Promise<{ ticket: string; expires_at: string }> {
  const ticket = newTicket();
  const expiresAt = new Date(deps.clock.now().getTime() + deps.ticketTtlSeconds * 1000).toISOString();
  await deps.tickets.put(ticketHash(ticket), { subject: input.subject, role: input.role, expires_at: expiresAt });
  deps.log.info('[ticket] Connect ticket issued', { subject: input.subject, role: input.role, expires_at: expiresAt });
  return { ticket, expires_at: expiresAt };
}

/** What the ticket stands for, now used up; undefined for one unknown (forged), used already (replayed) or expired. */
export async function redeemTicket(deps: Pick<Deps, 'tickets' | 'clock' | 'log'>, ticket: string): Promise<Ticket | undefined> {
  const redeemed = TICKET.test(ticket) ? await deps.tickets.take(ticketHash(ticket), deps.clock.now().toISOString()) : undefined;
  // The ticket itself is never logged: until used, it is a credential.
  if (!redeemed) deps.log.info('[connect] Handshake refused: ticket unknown, used or expired');
  return redeemed;
}
