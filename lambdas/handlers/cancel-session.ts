/** POST /sessions/{id}/cancel — the owner cancels; a pending request becomes cancelled. */
import { cancelBooking } from '../use-cases/booking';
import { deps } from '../wiring';
import { callerId, httpHandler, json, pathId } from './shared/http';

export const handler = httpHandler(async (event) => json(200, await cancelBooking(deps, { customerId: callerId(event), sessionId: pathId(event) })));
