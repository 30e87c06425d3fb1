/** POST /sessions/{id}/cancel — the owner cancels; a pending request becomes cancelled. */
import { cancelSession } from '../use-cases/sessions';
import { deps } from '../wiring';
import { callerId, httpHandler, json, pathId } from './shared/http';

export const handler = httpHandler(async (event) => json(200, await cancelSession(deps, { customerId: callerId(event), sessionId: pathId(event) })));
