/** WebSocket `accept` — `{"action":"accept","request_id":…}`; the answer is an `accept_result` event. */
import { acceptRequest } from '../use-cases/accept-request';
import { deps } from '../wiring';
import { parseWith, requestActionSchema } from './shared/schemas';
import { messageBody, messageHandler } from './shared/websocket';

export const handler = messageHandler(async (event, who) => {
  const { request_id } = parseWith(requestActionSchema, messageBody(event), 'message');
  await acceptRequest(deps, { requestId: request_id, mechanicId: who.mechanicId, connectionId: who.connectionId });
});
