/** WebSocket `$disconnect` — drop the connection from the index. */
import { disconnectMechanic } from '../use-cases/mechanics';
import { deps } from '../wiring';
import { caller, OK, type WebSocketEvent } from './shared/websocket';

export const handler = async (event: WebSocketEvent) => {
  await disconnectMechanic(deps, caller(event));
  return OK;
};
