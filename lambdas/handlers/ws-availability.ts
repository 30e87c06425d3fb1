/** WebSocket `pause` / `resume` — `{"action":"pause"}`: no offers until `resume`; answered with `availability` on every device. */
import { setAvailability } from '../use-cases/mechanics';
import { wire } from '../wiring';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { countedMessageHandler } from './shared/websocket';

const deps = wire(table, pusher);

export const handler = countedMessageHandler(deps, async (event, who) => {
  await setAvailability(deps, { mechanicId: who.mechanicId, connectionId: who.connectionId, paused: event.requestContext.routeKey === 'pause' });
});
