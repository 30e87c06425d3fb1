/** WebSocket `ping` — answer `pong` (keeps idle connections alive, lets apps check the link). */
import { pong } from '../domain/messages';
import { wire } from '../wiring';
import { pusher } from '../wiring/pusher';
import { messageHandler } from './shared/websocket';

const deps = wire(pusher);

export const handler = messageHandler(deps, async (_event, who) => {
  await deps.pusher.send(who.connectionId, pong());
});
