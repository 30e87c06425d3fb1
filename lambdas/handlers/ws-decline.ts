/** WebSocket `decline` — `{"action":"decline","request_id":…}`; the favorite's decline ends the window now. */
import { declineRequest } from '../use-cases/decline-request';
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
  await declineRequest(deps, { requestId: request_id, mechanicId: who.mechanicId, connectionId: who.connectionId });
});
