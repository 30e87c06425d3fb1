/**
 * WebSocket connect tickets: what `POST /ws/ticket` hands out and `$connect`
 * takes instead of a JWT in the URL (where proxies, browser history and
 * access logs keep it). A ticket is 32 random bytes, opaque, good for one
 * handshake within its lifetime, and bound to the caller's id and role. Only
 * its SHA-256 is stored, so the table never holds a usable ticket.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TICKET_ROLES = ['mechanic', 'customer'] as const;
export type TicketRole = (typeof TICKET_ROLES)[number];

/** What a ticket stands for, as stored under its hash. */
export interface Ticket {
  /** The JWT `sub` of whoever asked for it: the mechanic or customer it connects. */
  readonly subject: string;
  readonly role: TicketRole;
  readonly expires_at: string;
}

/** 256 bits from the CSPRNG, base64url: 43 characters, unguessable. */
export const newTicket = (): string => randomBytes(32).toString('base64url');

export const ticketHash = (ticket: string): string => createHash('sha256').update(ticket).digest('base64url');

/** A ticket as it is sent: 43 base64url characters. Anything else is refused without a look-up. */
export const TICKET = /^[A-Za-z0-9_-]{43}$/;
