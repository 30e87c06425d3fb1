/** WebSocket `decline` — `{"action":"decline","request_id":…}`; the favorite's decline ends the window now. */
import { declineRequest } from '../use-cases/decline-request';
import { deps } from '../wiring';
import { parseWith, requestActionSchema } from './shared/schemas';
import { messageBody, messageHandler } from './shared/websocket';

export const handler = messageHandler(async (event, who) => {
  const { request_id } = parseWith(requestActionSchema, messageBody(event), 'message');
  await declineRequest(deps, { requestId: request_id, mechanicId: who.mechanicId, connectionId: who.connectionId });
});
