/** WebSocket `$disconnect` — drop the connection from the index. */
import { disconnectCustomer } from '../use-cases/customers';
import { disconnectMechanic } from '../use-cases/mechanics';
import { wire } from '../wiring';
import { table } from '../wiring/table';
import { caller, OK, webSocketHandler } from './shared/websocket';

const deps = wire(table);

export const handler = webSocketHandler(async (event) => {
  const who = caller(event);
  await (who.role === 'customer' ? disconnectCustomer(deps, who) : disconnectMechanic(deps, who));
  return OK;
});
