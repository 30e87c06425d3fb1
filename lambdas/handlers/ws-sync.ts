/**
 * WebSocket `sync` — `{"action":"sync"}`: everything this mechanic may act on now, as one `offers`
 * answer. Apps send it after every (re)connect. It takes no fields (unknown ones are ignored).
 */
import { syncMechanic } from '../use-cases/sync';
import { wire } from '../wiring';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { messageHandler } from './shared/websocket';

const deps = wire(table, pusher);

export const handler = messageHandler(deps, async (_event, who) => {
  await syncMechanic(deps, who);
});
