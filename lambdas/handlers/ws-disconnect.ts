/** WebSocket `$disconnect` — drop the connection from the index. */
import { disconnectMechanic } from '../use-cases/mechanics';
import { deps } from '../wiring';
import { caller, OK, webSocketHandler } from './shared/websocket';

export const handler = webSocketHandler(async (event) => {
  await disconnectMechanic(deps, caller(event));
  return OK;
});
