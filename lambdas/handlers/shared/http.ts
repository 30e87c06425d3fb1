/**
 * HTTP API (payload v2.0) plumbing shared by the customer and admin handlers:
 * who is calling, the JSON body, and mapping answers and errors to responses
 * in the contract's shape.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError, describeError, invalidJson, payloadTooLarge, unauthorized, forbidden } from '../../domain/errors';
import { ADMIN_SCOPE } from '../../../contract/scopes';
import { log, observe } from '../../wiring';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResponse = APIGatewayProxyStructuredResultV2;

/** Bookings are small; anything bigger is a mistake or an attack. */
export const MAX_BODY_BYTES = 16 * 1024;

export const json = (statusCode: number, body: unknown): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A client's own `X-Correlation-Id` is kept when it is a sane token; otherwise API Gateway's request id names the work. */
const CORRELATION_ID = /^[\x21-\x7e]{1,128}$/;

export function httpCorrelationId(event: HttpEvent): string | undefined {
  const given = header(event, 'X-Correlation-Id');
  return given !== undefined && CORRELATION_ID.test(given) ? given : event.requestContext?.requestId;
}

/** Wraps a handler: AppErrors become their 4xx, anything else a logged 500 with no detail leaked. */
export function httpHandler(run: (event: HttpEvent) => Promise<HttpResponse>) {
  return observe(httpCorrelationId, async (event: HttpEvent): Promise<HttpResponse> => {
    try {
      return await run(event);
    } catch (error) {
      if (error instanceof AppError) return json(error.status, { error: { code: error.code, message: error.message } });
      log.error('Unhandled error', { route: event.routeKey, error: describeError(error), stack: (error as Error)?.stack });
      return json(500, { error: { code: 'internal_error', message: 'Something went wrong on our side; it is safe to retry' } });
    }
  });
}

/** The caller's id: the JWT's `sub`, as API Gateway's JWT authorizer passed it. */
export function callerId(event: HttpEvent): string {
  const sub = event.requestContext.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub === '') throw unauthorized();
  return sub;
}

/** Defence in depth: the route already demands the scope. */
export function requireAdmin(event: HttpEvent): void {
  callerId(event);
  const scopes = event.requestContext.authorizer?.jwt?.scopes ?? [];
  if (!scopes.includes(ADMIN_SCOPE)) throw forbidden(`the ${ADMIN_SCOPE} scope is required`);
}

export function jsonBody(event: HttpEvent): unknown {
  const raw = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8')) : Buffer.alloc(0);
  if (raw.length > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
  if (raw.length === 0) throw invalidJson('body is required and must be a JSON object');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalidJson('body is not valid JSON');
  }
}

export function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name.toLowerCase()];
}

export function pathId(event: HttpEvent): string {
  return event.pathParameters?.id ?? '';
}
