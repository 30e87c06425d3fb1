/**
 * WebSocket route plumbing: the mechanic or customer behind a connection
 * (from the `$connect` authorizer's context), the rule that a message that
 * makes no sense gets an `error` event while the connection stays open, the
 * rule that a customer's connection sends nothing but CUSTOMER_ACTIONS, and
 * the per-connection message limit the routes that do work count against.
 */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { CUSTOMER_ACTIONS } from '../../../contract/routes';
import { AppError, describeError } from '../../domain/errors';
import { errorEvent } from '../../domain/messages';
import type { Deps } from '../../use-cases/deps';
import { admitMessage, type MessageRateDeps } from '../../use-cases/message-rate';
import { observe } from '../../wiring';

/** API Gateway passes the authorizer's context to every route of the connection. */
export type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & {
    authorizer?: { role?: string; mechanic_id?: string; workshop_id?: string; customer_id?: string; paused?: string };
  };
};

export type Role = 'mechanic' | 'customer';

/** Who is behind a connection: a mechanic (`mechanicId`, `workshopId`) or a customer (`customerId`); the other fields are empty. */
export interface Caller {
  readonly connectionId: string;
  readonly role: Role;
  readonly mechanicId: string;
  readonly workshopId: string | null;
  readonly customerId: string;
  /** Whether the mechanic was paused when the connection was authorized. */
  readonly paused: boolean;
}

export const OK: APIGatewayProxyResult = { statusCode: 200, body: '' };

export function caller(event: WebSocketEvent): Caller {
  const context = event.requestContext.authorizer;
  return {
    connectionId: event.requestContext.connectionId,
    // Connections made before customers could connect have no role in their context: they are mechanics.
    role: context?.role === 'customer' ? 'customer' : 'mechanic',
    mechanicId: context?.mechanic_id ?? '',
    workshopId: context?.workshop_id || null,
    customerId: context?.customer_id ?? '',
    paused: context?.paused === 'true',
  };
}

export function messageBody(event: WebSocketEvent): unknown {
  try {
    return JSON.parse(event.body ?? '');
  } catch {
    throw new AppError(400, 'invalid_json', 'message is not valid JSON');
  }
}

/** Each WebSocket event (connect, message, disconnect) is its own piece of work: API Gateway's request id names it. */
export const webSocketCorrelationId = (event: { requestContext?: { requestId?: string } }): string | undefined => event.requestContext?.requestId;

/** A WebSocket route with the invocation's context and correlation id on its log lines. */
export function webSocketHandler<R>(run: (event: WebSocketEvent) => Promise<R>) {
  return observe(webSocketCorrelationId, run);
}

/** A customer may send CUSTOMER_ACTIONS; anything else routed to `$default` is answered there (with the actions they may send). */
const customerMayUse = (routeKey: string): boolean => routeKey === '$default' || CUSTOMER_ACTIONS.includes(routeKey);

/**
 * Runs a message route; a bad message becomes an `error` event (pushed with the route's own pusher), never a dropped
 * connection. A customer's connection reaches only CUSTOMER_ACTIONS: every other route answers it `forbidden_for_customers`
 * without running, so no mechanic route has to remember customers exist. Its messages are not counted (`ping`, `$default`).
 */
export function messageHandler(deps: Pick<Deps, 'pusher' | 'log'>, run: (event: WebSocketEvent, who: Caller) => Promise<void>) {
  return routeHandler(deps, async () => true, run);
}

/**
 * A message route that counts each message against the connection's limit first (the manifest's `countsMessages`):
 * past it, the message does nothing (message-rate.ts). Every route that reads or writes the table is one.
 */
export function countedMessageHandler(deps: MessageRateDeps, run: (event: WebSocketEvent, who: Caller) => Promise<void>) {
  return routeHandler(
    deps,
    (who) => admitMessage(deps, { connectionId: who.connectionId, senderId: who.role === 'customer' ? who.customerId : who.mechanicId }),
    run,
  );
}

function routeHandler(
  deps: Pick<Deps, 'pusher' | 'log'>,
  admit: (who: Caller) => Promise<boolean>,
  run: (event: WebSocketEvent, who: Caller) => Promise<void>,
) {
  return webSocketHandler(async (event): Promise<APIGatewayProxyResult> => {
    const who = caller(event);
    try {
      if (!(await admit(who))) return OK;
      if (who.role === 'customer' && !customerMayUse(event.requestContext.routeKey))
        throw new AppError(403, 'forbidden_for_customers', `customers may send only ${CUSTOMER_ACTIONS.join(', ')}`);
      await run(event, who);
    } catch (error) {
      const known = error instanceof AppError;
      if (!known) deps.log.error('Unhandled error in a WebSocket route', { route: event.requestContext.routeKey, error: describeError(error) });
      const message = known ? errorEvent(error.code, error.message) : errorEvent('internal_error', 'Something went wrong on our side; try again');
      await deps.pusher.send(who.connectionId, message).catch(() => undefined);
    }
    return OK;
  });
}
