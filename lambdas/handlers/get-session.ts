/** GET /sessions/{id} — the session, its request and the audit trail, for its owner only. */
import { getSessionView } from '../use-cases/booking';
import { wire } from '../wiring';
import { table } from '../wiring/table';
import { callerId, httpHandler, json, pathId } from './shared/http';

const deps = wire(table);

export const handler = httpHandler(async (event) => json(200, await getSessionView(deps, { customerId: callerId(event), sessionId: pathId(event) })));
