/**
 * Events shaped as API Gateway sends them to the handlers: HTTP API payload
 * v2.0 with the JWT authorizer's claims, WebSocket route events carrying the
 * `$connect` authorizer's context, and the WebSocket REQUEST authorizer event.
 * Field names and casing follow the AWS docs' sample events.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { HttpEvent, HttpResponse } from '../../lambdas/handlers/shared/http';
import type { WebSocketEvent } from '../../lambdas/handlers/shared/websocket';

const API_ID = 'abc123defg';
const WS_API_ID = 'ws456hijk';
const ACCOUNT = '123456789012';
const STAGE = 'test';
export const JWT_ISSUER = 'https://issuer.priority-dispatch.test';
export const JWT_AUDIENCE = 'priority-dispatch';

export interface HttpEventOptions {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** The route's path template, e.g. `/sessions/{id}`; `{id}` is filled from `id`. */
  readonly route: string;
  readonly id?: string;
  /** An object is sent as JSON; a string is sent as is (to send malformed JSON). */
  readonly body?: unknown;
  /** Sends the body base64-encoded with `isBase64Encoded: true`, as API Gateway does for binary media. */
  readonly base64?: boolean;
  /** Extra headers, any casing: API Gateway lower-cases header names in payload v2.0. */
  readonly headers?: Record<string, string>;
  /** The JWT's `sub`; `null` for a request that reached the function with no claims at all. */
  readonly sub: string | null;
  /** The JWT authorizer's scopes. */
  readonly scopes?: string[] | null;
}

/** An HTTP API payload v2.0 event as the JWT authorizer passes it on. */
export function httpEvent(options: HttpEventOptions): HttpEvent {
  const rawPath = options.id === undefined ? options.route : options.route.replace('{id}', encodeURIComponent(options.id));
  const text = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const body = text === undefined ? undefined : options.base64 ? Buffer.from(text, 'utf8').toString('base64') : text;
  const headers: Record<string, string> = {
    accept: 'application/json',
    authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.stub.stub',
    host: `${API_ID}.execute-api.us-east-1.amazonaws.com`,
    'user-agent': 'vitest',
    'x-amzn-trace-id': `Root=1-${randomUUID().replace(/-/g, '').slice(0, 8)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    'x-forwarded-for': '203.0.113.10',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...(text !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {}),
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const now = new Date();
  const requestContext = {
    accountId: ACCOUNT,
    apiId: API_ID,
    domainName: `${API_ID}.execute-api.us-east-1.amazonaws.com`,
    domainPrefix: API_ID,
    http: { method: options.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'vitest' },
    requestId: randomUUID(),
    routeKey: `${options.method} ${options.route}`,
    stage: '$default',
    time: now.toUTCString(),
    timeEpoch: now.getTime(),
    ...(options.sub === null
      ? {}
      : {
          authorizer: {
            principalId: '',
            integrationLatency: 0,
            jwt: {
              // HTTP API hands claims over as strings.
              claims: {
                sub: options.sub,
                iss: JWT_ISSUER,
                aud: JWT_AUDIENCE,
                iat: String(Math.floor(now.getTime() / 1000) - 60),
                exp: String(Math.floor(now.getTime() / 1000) + 3600),
                ...(options.scopes?.length ? { scope: options.scopes.join(' ') } : {}),
              },
              scopes: options.scopes ?? null,
            },
          },
        }),
  };
  return {
    version: '2.0',
    routeKey: `${options.method} ${options.route}`,
    rawPath,
    rawQueryString: '',
    headers,
    requestContext: requestContext as HttpEvent['requestContext'],
    ...(options.id !== undefined ? { pathParameters: { id: options.id } } : {}),
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: !!options.base64,
  };
}

/** An HTTP API event whose claims object is present but empty (no `sub`). */
export function httpEventWithoutSub(options: Omit<HttpEventOptions, 'sub'>): HttpEvent {
  const event = httpEvent({ ...options, sub: 'placeholder' });
  event.requestContext.authorizer.jwt.claims = {};
  return event;
}

/** The decoded JSON body of a handler's response, and its status. */
export function responseOf(response: HttpResponse): { status: number; body: any; contentType: unknown } {
  return { status: response.statusCode ?? 200, body: response.body ? JSON.parse(response.body) : undefined, contentType: response.headers?.['content-type'] };
}

export interface WebSocketEventOptions {
  readonly routeKey: string;
  readonly connectionId: string;
  /** The `$connect` authorizer's context; omitted = no authorizer context at all. */
  readonly mechanicId?: string;
  readonly workshopId?: string | null;
  /** A customer's connection (`role=customer`): the context the authorizer gives it, instead of a mechanic's. */
  readonly customerId?: string;
  /** The frame as the mechanic sent it; an object is sent as JSON. */
  readonly body?: unknown;
}

/** A WebSocket API route event (`$connect`, `$disconnect`, or a message route). */
export function wsEvent(options: WebSocketEventOptions): WebSocketEvent {
  const now = new Date();
  const eventType = options.routeKey === '$connect' ? 'CONNECT' : options.routeKey === '$disconnect' ? 'DISCONNECT' : 'MESSAGE';
  const requestContext = {
    routeKey: options.routeKey,
    messageId: eventType === 'MESSAGE' ? `${randomUUID().slice(0, 14)}=` : undefined,
    eventType,
    extendedRequestId: `${randomUUID().slice(0, 14)}=`,
    requestTime: now.toUTCString(),
    messageDirection: 'IN',
    stage: STAGE,
    connectedAt: now.getTime() - 1000,
    requestTimeEpoch: now.getTime(),
    requestId: `${randomUUID().slice(0, 14)}=`,
    domainName: `${WS_API_ID}.execute-api.us-east-1.amazonaws.com`,
    connectionId: options.connectionId,
    apiId: WS_API_ID,
    identity: { sourceIp: '203.0.113.20', userAgent: 'mechanic-app/1.0' },
    ...(options.customerId !== undefined
      ? { authorizer: { role: 'customer', customer_id: options.customerId, principalId: options.customerId, integrationLatency: 12 } }
      : options.mechanicId === undefined
        ? {}
        : {
            // API Gateway passes the authorizer's context on, plus its own principalId and latency.
            authorizer: {
              mechanic_id: options.mechanicId,
              workshop_id: options.workshopId ?? '',
              principalId: options.mechanicId,
              integrationLatency: 12,
            },
          }),
  };
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  return {
    requestContext: requestContext as WebSocketEvent['requestContext'],
    isBase64Encoded: false,
    ...(eventType === 'CONNECT'
      ? {
          headers: { Host: `${WS_API_ID}.execute-api.us-east-1.amazonaws.com`, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
        }
      : {}),
    ...(body !== undefined ? { body } : {}),
  } as WebSocketEvent;
}

/**
 * The WebSocket `$connect` REQUEST authorizer event. A WebSocket authorizer
 * event has no `resource`/`path`/`httpMethod` (the REST-shaped type asks for
 * them), so this builds the WebSocket shape and casts.
 */
export function wsAuthorizerEvent(options: { token?: string; ticket?: string; role?: string; connectionId?: string }): APIGatewayRequestAuthorizerEvent {
  const now = new Date();
  const given = Object.entries({ token: options.token, ticket: options.ticket, role: options.role }).filter(([, value]) => value !== undefined) as [
    string,
    string,
  ][];
  const query = given.length ? Object.fromEntries(given) : null;
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:us-east-1:${ACCOUNT}:${WS_API_ID}/${STAGE}/$connect`,
    headers: { Host: `${WS_API_ID}.execute-api.us-east-1.amazonaws.com`, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    multiValueHeaders: {
      Host: [`${WS_API_ID}.execute-api.us-east-1.amazonaws.com`],
      'Sec-WebSocket-Version': ['13'],
      'Sec-WebSocket-Key': ['dGhlIHNhbXBsZSBub25jZQ=='],
    },
    queryStringParameters: query,
    multiValueQueryStringParameters: query && Object.fromEntries(Object.entries(query).map(([name, value]) => [name, [value]])),
    stageVariables: {},
    requestContext: {
      routeKey: '$connect',
      eventType: 'CONNECT',
      extendedRequestId: `${randomUUID().slice(0, 14)}=`,
      requestTime: now.toUTCString(),
      messageDirection: 'IN',
      stage: STAGE,
      connectedAt: now.getTime(),
      requestTimeEpoch: now.getTime(),
      identity: { sourceIp: '203.0.113.20', userAgent: 'mechanic-app/1.0' },
      requestId: `${randomUUID().slice(0, 14)}=`,
      domainName: `${WS_API_ID}.execute-api.us-east-1.amazonaws.com`,
      connectionId: options.connectionId ?? `${randomUUID().slice(0, 14)}=`,
      apiId: WS_API_ID,
    },
  } as unknown as APIGatewayRequestAuthorizerEvent;
}
