/** WebSocket `accept` — `{"action":"accept","request_id":…}`; the answer is an `accept_result` event. */
import { acceptRequest } from '../use-cases/accept-request';
import { wire } from '../wiring';
import { fanOut } from '../wiring/fan-out';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { timer } from '../wiring/timer';
import { parseWith, requestActionSchema } from './shared/schemas';
import { messageBody, countedMessageHandler } from './shared/websocket';

const deps = wire(table, pusher, fanOut, timer);

export const handler = countedMessageHandler(deps, async (event, who) => {
  const { request_id } = parseWith(requestActionSchema, messageBody(event), 'message');
  await acceptRequest(deps, { requestId: request_id, mechanicId: who.mechanicId, connectionId: who.connectionId });
});
