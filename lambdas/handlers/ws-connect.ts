/** WebSocket `$connect` (after the authorizer allowed it) — index the connection. */
import { connectMechanic } from '../use-cases/mechanics';
import { deps } from '../wiring';
import { caller, OK, webSocketHandler } from './shared/websocket';

export const handler = webSocketHandler(async (event) => {
  const who = caller(event);
  if (!who.mechanicId) return { statusCode: 401, body: '' };
  await connectMechanic(deps, who);
  return OK;
});
