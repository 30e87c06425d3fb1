/**
 * WebSocket route plumbing: the mechanic behind a connection (from the
 * `$connect` authorizer's context) and the rule that a message that makes no
 * sense gets an `error` event while the connection stays open.
 */
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { AppError, describeError } from '../../domain/errors';
import { errorEvent } from '../../domain/messages';
import type { Deps } from '../../use-cases/deps';
import { observe } from '../../wiring';

/** API Gateway passes the authorizer's context to every route of the connection. */
export type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & { authorizer?: { mechanic_id?: string; workshop_id?: string; paused?: string } };
};

export interface Caller {
  readonly connectionId: string;
  readonly mechanicId: string;
  readonly workshopId: string | null;
  /** Whether the mechanic was paused when the connection was authorized. */
  readonly paused: boolean;
}

export const OK: APIGatewayProxyResult = { statusCode: 200, body: '' };

export function caller(event: WebSocketEvent): Caller {
  return {
    connectionId: event.requestContext.connectionId,
    mechanicId: event.requestContext.authorizer?.mechanic_id ?? '',
    workshopId: event.requestContext.authorizer?.workshop_id || null,
    paused: event.requestContext.authorizer?.paused === 'true',
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

/** Runs a message route; a bad message becomes an `error` event (pushed with the route's own pusher), never a dropped connection. */
export function messageHandler(deps: Pick<Deps, 'pusher' | 'log'>, run: (event: WebSocketEvent, who: Caller) => Promise<void>) {
  return webSocketHandler(async (event): Promise<APIGatewayProxyResult> => {
    const who = caller(event);
    try {
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
