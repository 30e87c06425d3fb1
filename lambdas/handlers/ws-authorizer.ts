/**
 * `$connect` REQUEST authorizer. The recommended way in is `?ticket=`, a
 * single-use ticket from `POST /ws/ticket`: redeemed here (used up, whatever
 * comes next), it says who connects and in which role (`role` in the URL is
 * ignored). The older way, still taken, is a JWT in `?token=`: without `role`
 * (or with `role=mechanic`) its `sub` must be an approved mechanic; with
 * `role=customer` any valid token is a customer, whose connection only ever
 * hears their own bookings' status. Either way a mechanic must be approved.
 * The context (the role, and the mechanic and workshop or the customer)
 * reaches every later route. With no identity source configured
 * (contract/routes.ts), API Gateway calls this on every handshake, even one
 * with neither: it answers 401 for those.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { isPaused } from '../domain/mechanic';
import { authorizeCustomer } from '../use-cases/customers';
import { admitMechanic, authorizeMechanic, type HandshakeVerdict } from '../use-cases/mechanics';
import { redeemTicket } from '../use-cases/tickets';
import { observe, wire } from '../wiring';
import { table } from '../wiring/table';
import { tokens } from '../wiring/tokens';
import { webSocketCorrelationId } from './shared/websocket';

const deps = wire(table, tokens);

// API Gateway answers 401 for this exact error: a bad token or ticket is "unauthorized", not "forbidden".
const unauthorized = (): never => {
  throw new Error('Unauthorized');
};

export const handler = observe(webSocketCorrelationId, async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  const { ticket, token, role = 'mechanic' } = event.queryStringParameters ?? {};
  if (ticket) {
    const redeemed = (await redeemTicket(deps, ticket)) ?? unauthorized();
    return redeemed.role === 'customer' ? allowCustomer(event, redeemed.subject) : mechanicPolicy(event, await admitMechanic(deps, redeemed.subject));
  }
  if (!token) return unauthorized();
  if (role === 'customer') {
    const verdict = await authorizeCustomer(deps, token);
    return verdict.allowed ? allowCustomer(event, verdict.customerId) : unauthorized();
  }
  if (role !== 'mechanic') {
    deps.log.info('[connect] Handshake refused: unknown role', { role: role.slice(0, 64) });
    return policy(event, 'refused', false, {});
  }
  const verdict = await authorizeMechanic(deps, token);
  if (!verdict.allowed && verdict.why === 'invalid_token') return unauthorized();
  return mechanicPolicy(event, verdict);
});

function allowCustomer(event: APIGatewayRequestAuthorizerEvent, customerId: string): APIGatewayAuthorizerResult {
  return policy(event, customerId, true, { role: 'customer', customer_id: customerId });
}

/** An approved mechanic is allowed with their context; anyone else is denied (API Gateway's 403). */
function mechanicPolicy(event: APIGatewayRequestAuthorizerEvent, verdict: HandshakeVerdict): APIGatewayAuthorizerResult {
  if (!verdict.allowed) return policy(event, 'refused', false, {});
  const { mechanic } = verdict;
  // Context values must be strings, numbers or booleans; kept to strings: '' stands for "no workshop", `paused` is 'true' or 'false'.
  return policy(event, mechanic.mechanic_id, true, {
    role: 'mechanic',
    mechanic_id: mechanic.mechanic_id,
    workshop_id: mechanic.workshop_id ?? '',
    paused: String(isPaused(mechanic)),
  });
}

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
