/**
 * WebSocket `sync` — `{"action":"sync"}`: what the caller needs after a (re)connect, as one answer. A
 * mechanic gets `offers` (everything they may act on now); a customer gets `sessions` (their latest
 * bookings' status). It takes no fields (unknown ones are ignored).
 */
import { syncCustomer } from '../use-cases/customers';
import { syncMechanic } from '../use-cases/sync';
import { wire } from '../wiring';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { countedMessageHandler } from './shared/websocket';

const deps = wire(table, pusher);

export const handler = countedMessageHandler(deps, async (_event, who) => {
  if (who.role === 'customer') await syncCustomer(deps, who);
  else await syncMechanic(deps, who);
});
