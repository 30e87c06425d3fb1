/** WebSocket `ping` — answer `pong` (keeps idle connections alive, lets apps check the link). */
import { pong } from '../domain/messages';
import { deps } from '../wiring';
import { messageHandler } from './shared/websocket';

export const handler = messageHandler(async (_event, who) => {
  await deps.pusher.send(who.connectionId, pong());
});
