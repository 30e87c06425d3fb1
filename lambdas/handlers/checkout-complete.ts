/** POST /sessions/{id}/checkout/complete — what the payment webhook calls; repeating it changes nothing. */
import { completeCheckout } from '../use-cases/booking';
import { deps } from '../wiring';
import { callerId, httpHandler, json, pathId } from './shared/http';

export const handler = httpHandler(async (event) => json(200, await completeCheckout(deps, { customerId: callerId(event), sessionId: pathId(event) })));
