/** WebSocket `$default` — anything no route takes: an `error` event naming what the caller (mechanic or customer) may send, connection kept. */
import { AppError } from '../domain/errors';
import { CUSTOMER_ACTIONS, webSocketRoutes } from '../../contract/routes';
import { wire } from '../wiring';
import { pusher } from '../wiring/pusher';
import { messageBody, messageHandler } from './shared/websocket';

const deps = wire(pusher);

const ACTIONS = webSocketRoutes.map((r) => r.routeKey).filter((key) => !key.startsWith('$'));

export const handler = messageHandler(deps, async (event, who) => {
  const message = messageBody(event);
  const action = (message as { action?: unknown } | null)?.action;
  const what = typeof action === 'string' ? `unknown action "${action.slice(0, 64)}"` : 'action is required';
  const expected = who.role === 'customer' ? CUSTOMER_ACTIONS : ACTIONS;
  throw new AppError(400, typeof action === 'string' ? 'unknown_action' : 'invalid_request', `${what}; expected one of ${expected.join(', ')}`);
});
