/**
 * `$connect` REQUEST authorizer: `?token=` must be a valid JWT whose `sub` is an
 * approved mechanic. Its context (mechanic and workshop) reaches every later route.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { isPaused } from '../domain/mechanic';
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
  const verdict = await authorizeMechanic(deps, token);
  if (!verdict.allowed && verdict.why === 'invalid_token') throw new Error('Unauthorized');
  const principalId = verdict.allowed ? verdict.mechanic.mechanic_id : 'refused';
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: verdict.allowed ? 'Allow' : 'Deny', Resource: event.methodArn }],
    },
    // Context values must be strings, numbers or booleans; kept to strings: '' stands for "no workshop", `paused` is 'true' or 'false'.
    context: verdict.allowed
      ? { mechanic_id: verdict.mechanic.mechanic_id, workshop_id: verdict.mechanic.workshop_id ?? '', paused: String(isPaused(verdict.mechanic)) }
      : {},
  };
});
