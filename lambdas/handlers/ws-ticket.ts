/** POST /ws/ticket — a single-use WebSocket connect ticket for the caller (any valid JWT: a customer's or a mechanic's). */
import { issueTicket } from '../use-cases/tickets';
import { wire } from '../wiring';
import { table } from '../wiring/table';
import { callerId, httpHandler, json, jsonBody } from './shared/http';
import { parseWith, ticketRequestSchema } from './shared/schemas';

const deps = wire(table);

export const handler = httpHandler(async (event) => {
  const subject = callerId(event);
  // The body is optional: without one the ticket opens a mechanic's connection, as `?token=` without `role` does.
  const { role } = parseWith(ticketRequestSchema, event.body ? jsonBody(event) : {});
  const answer = await issueTicket(deps, { subject, role });
  // A credential until used: no cache along the way may keep it.
  const response = json(201, answer);
  return { ...response, headers: { ...response.headers, 'cache-control': 'no-store' } };
});
