/** WebSocket `$disconnect` — drop the connection from the index. */
import { disconnectMechanic } from '../use-cases/mechanics';
import { wire } from '../wiring';
import { table } from '../wiring/table';
import { caller, OK, webSocketHandler } from './shared/websocket';

const deps = wire(table);

export const handler = webSocketHandler(async (event) => {
  await disconnectMechanic(deps, caller(event));
  return OK;
});
