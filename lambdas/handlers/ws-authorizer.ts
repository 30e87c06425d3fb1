/**
 * `$connect` REQUEST authorizer: `?token=` must be a valid JWT. Without
 * `role` (or with `role=mechanic`) its `sub` must be an approved mechanic;
 * with `role=customer` any valid token is a customer, whose connection only
 * ever hears their own bookings' status. Its context (the role, and the
 * mechanic and workshop or the customer) reaches every later route.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { isPaused } from '../domain/mechanic';
import { authorizeCustomer } from '../use-cases/customers';
import { authorizeMechanic } from '../use-cases/mechanics';
import { observe, wire } from '../wiring';
import { table } from '../wiring/table';
import { tokens } from '../wiring/tokens';
import { webSocketCorrelationId } from './shared/websocket';

const deps = wire(table, tokens);

export const handler = observe(webSocketCorrelationId, async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  const token = event.queryStringParameters?.token;
  // API Gateway answers 401 for this exact error: a bad token is "unauthorized", not "forbidden".
  if (!token) throw new Error('Unauthorized');
  const role = event.queryStringParameters?.role ?? 'mechanic';
  if (role === 'customer') {
    const verdict = await authorizeCustomer(deps, token);
    if (!verdict.allowed) throw new Error('Unauthorized');
    return policy(event, verdict.customerId, true, { role: 'customer', customer_id: verdict.customerId });
  }
  if (role !== 'mechanic') {
    deps.log.info('[connect] Handshake refused: unknown role', { role: role.slice(0, 64) });
    return policy(event, 'refused', false, {});
  }
  const verdict = await authorizeMechanic(deps, token);
  if (!verdict.allowed && verdict.why === 'invalid_token') throw new Error('Unauthorized');
  return verdict.allowed
    ? // Context values must be strings, numbers or booleans; kept to strings: '' stands for "no workshop", `paused` is 'true' or 'false'.
      policy(event, verdict.mechanic.mechanic_id, true, {
        role: 'mechanic',
        mechanic_id: verdict.mechanic.mechanic_id,
        workshop_id: verdict.mechanic.workshop_id ?? '',
        paused: String(isPaused(verdict.mechanic)),
      })
    : policy(event, 'refused', false, {});
});

function policy(event: APIGatewayRequestAuthorizerEvent, principalId: string, allow: boolean, context: Record<string, string>): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: allow ? 'Allow' : 'Deny', Resource: event.methodArn }],
    },
    context,
  };
}
