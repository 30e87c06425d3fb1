/** WebSocket `$connect` (after the authorizer allowed it) — index the connection. */
import { connectMechanic } from '../use-cases/mechanics';
import { wire } from '../wiring';
import { table } from '../wiring/table';
import { caller, OK, webSocketHandler } from './shared/websocket';

const deps = wire(table);

export const handler = webSocketHandler(async (event) => {
  const who = caller(event);
  if (!who.mechanicId) return { statusCode: 401, body: '' };
  await connectMechanic(deps, who);
  return OK;
});
