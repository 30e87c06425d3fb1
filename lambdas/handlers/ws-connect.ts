/** WebSocket `$connect` (after the authorizer allowed it) — index the connection, a mechanic's or a customer's. */
import { connectCustomer } from '../use-cases/customers';
import { connectMechanic } from '../use-cases/mechanics';
import { wire } from '../wiring';
import { table } from '../wiring/table';
import { caller, OK, webSocketHandler } from './shared/websocket';

const deps = wire(table);

export const handler = webSocketHandler(async (event) => {
  const who = caller(event);
  if (who.role === 'customer') {
    if (!who.customerId) return { statusCode: 401, body: '' };
    await connectCustomer(deps, who);
    return OK;
  }
  if (!who.mechanicId) return { statusCode: 401, body: '' };
  await connectMechanic(deps, who);
  return OK;
});
