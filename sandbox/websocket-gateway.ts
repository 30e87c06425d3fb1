/**
 * API Gateway WebSocket API on one port: the `$connect` REQUEST authorizer
 * (called on every handshake: it names no identity source), route selection on
 * `$request.body.action` with `$default` for the rest, `$disconnect` on
 * close, the stage's route throttles (a `$connect` past its bucket is refused
 * 429, a message gets API Gateway's throttling frame and the connection stays
 * open), idle and lifetime limits, and the `@connections` management
 * endpoint (with or without the `/{stage}` prefix) answering as AWS does:
 * SigV4 checked (403 for a missing or bad signature, AccessDenied for a
 * signer not granted `execute-api:ManageConnections`), 410 +
 * `x-amzn-ErrorType: GoneException` for a connection that is gone.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { webSocketAuthorizer, webSocketRoutes, type FunctionName } from '../contract/routes';
import { AwsError, lowerCaseHeaders, readBody, send, sendRestJsonError } from './aws-wire';
import { listen } from './listen';
import { defaultStatus, type FaultAnswers } from './faults';
import { SANDBOX_ACCOUNT, SANDBOX_REGION } from './account';
import type { SandboxPrincipals } from './iam';
import { verifySignature } from './sigv4';
import { RouteThrottle, TOO_MANY_REQUESTS } from './route-throttle';
import type { StageThrottles } from '../contract/throttles';

/** API Gateway's limits: a 128 KB message, 10 minutes idle, 2 hours per connection. */
export const WEBSOCKET_MAX_MESSAGE_BYTES = 128 * 1024;
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;

const API_ID = 'sandboxws';

export interface WebSocketGatewayOptions {
  host?: string;
  port: number;
  stage: string;
  invoke: (fn: FunctionName, event: unknown) => Promise<unknown>;
  log: (line: string) => void;
  idleTimeoutMs?: number;
  maxConnectionMs?: number;
  faults?: FaultAnswers;
  /** Whose signatures `@connections` accepts, and what each may do. */
  principals: SandboxPrincipals;
  /** The stage's route throttles; undefined throttles nothing. */
  throttles?: StageThrottles;
  /** The throttles' clock (epoch ms). @default Date.now */
  now?: () => number;
}

export interface WebSocketGateway {
  readonly url: string;
  readonly port: number;
  /** The `@connections` endpoint the handlers post to (CONNECTIONS_ENDPOINT). */
  readonly connectionsEndpoint: string;
  close(): Promise<void>;
}

interface LiveConnection {
  id: string;
  socket: WebSocket;
  connectedAt: Date;
  lastActiveAt: Date;
  sourceIp: string;
  userAgent: string;
  authorizer: Record<string, unknown>;
  idleTimer?: NodeJS.Timeout;
  lifetimeTimer?: NodeJS.Timeout;
}

const functionOfRoute = new Map(webSocketRoutes.map((r) => [r.routeKey, r.function]));

export async function startWebSocketGateway(options: WebSocketGatewayOptions): Promise<WebSocketGateway> {
  const live = new Map<string, LiveConnection>();
  /** `$disconnect` invocations still running: close() waits for them so no connection item outlives its socket. */
  const disconnecting = new Set<Promise<void>>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: WEBSOCKET_MAX_MESSAGE_BYTES });
  const throttle = new RouteThrottle(options.throttles, options.now);
  const server: Server = createServer((req, res) => void manage(req, res));
  let domainName = '';

  // ---- @connections management API ----------------------------------------------------------
  async function manage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const found = /^(?:\/[^/@]+)?\/@connections\/([^/]+)$/.exec(path);
      if (!found) throw new AwsError(404, 'NotFoundException', `No method found matching route ${path}`);
      const connectionId = decodeURIComponent(found[1]!);
      const operation = req.method === 'POST' ? 'PostToConnection' : req.method === 'DELETE' ? 'DeleteConnection' : 'GetConnection';
      const { principals } = options;
      const signer = await verifySignature(req, body, { service: 'execute-api', region: SANDBOX_REGION, identityOf: (key) => principals.identityOf(key) });
      if (!principals.may(signer, 'execute-api:ManageConnections'))
        throw new AwsError(
          403,
          'AccessDeniedException',
          `User: ${signer.arn} is not authorized to perform: execute-api:ManageConnections on resource: arn:aws:execute-api:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:${API_ID}/${options.stage}/${req.method}/@connections/${connectionId}`,
        );
      const fault = await options.faults?.take('connections', operation, connectionId);
      if (fault) throw new AwsError(fault.status ?? defaultStatus(fault.error), fault.error, fault.message ?? `Injected fault: ${fault.error}`);
      const connection = live.get(connectionId);
      if (!connection || connection.socket.readyState !== WebSocket.OPEN) throw new AwsError(410, 'GoneException', 'Gone');
      switch (req.method) {
        case 'POST':
          if (body.length > WEBSOCKET_MAX_MESSAGE_BYTES) throw new AwsError(413, 'PayloadTooLargeException', 'Message too large');
          connection.socket.send(body.toString('utf8'));
          return send(res, 200, undefined, {});
        case 'GET':
          return send(res, 200, {
            connectedAt: connection.connectedAt.toISOString(),
            lastActiveAt: connection.lastActiveAt.toISOString(),
            identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
          });
        case 'DELETE':
          connection.socket.close(1000, 'Connection deleted');
          return send(res, 204, undefined, {});
        default:
          throw new AwsError(405, 'MethodNotAllowedException', `${req.method} is not supported on @connections`);
      }
    } catch (error) {
      sendRestJsonError(res, error instanceof AwsError ? error : new AwsError(500, 'InternalServerErrorException', (error as Error).message));
    }
  }

  // ---- $connect: authorizer, then the $connect route ------------------------------------------
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void handshake(req, socket, head));

  async function handshake(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const connectionId = newConnectionId();
    const query = Object.fromEntries(url.searchParams);
    const headers = lowerCaseHeaders(req);
    const requestContext = {
      ...baseContext(connectionId, '$connect', 'CONNECT'),
      connectedAt: Date.now(),
      identity: { sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
    };
    // Throttled before the authorizer runs: a refused handshake costs no invocation.
    if (!throttle.take('$connect')) return refuse(socket, TOO_MANY_REQUESTS.status, TOO_MANY_REQUESTS.message);
    // The authorizer names no identity source (contract/routes.ts `webSocketAuthorizer`), so API Gateway calls it
    // on every handshake, whatever the query string, and caches no answer (a WebSocket authorizer never does).
    let authorizer: Record<string, unknown>;
    try {
      const verdict = (await options.invoke(webSocketAuthorizer.function, {
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:${API_ID}/${options.stage}/$connect`,
        headers,
        multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
        queryStringParameters: query,
        multiValueQueryStringParameters: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])),
        stageVariables: {},
        requestContext,
      })) as { principalId: string; policyDocument: { Statement: { Effect: string }[] }; context?: Record<string, unknown> };
      const allowed = verdict.policyDocument.Statement.every((s) => s.Effect === 'Allow');
      if (!allowed) return refuse(socket, 403, 'Forbidden');
      authorizer = { ...verdict.context, principalId: verdict.principalId, integrationLatency: 0 };
    } catch (error) {
      // The authorizer's "Unauthorized" error is API Gateway's 401; any other failure is a 500.
      return (error as Error).message === 'Unauthorized' ? refuse(socket, 401, 'Unauthorized') : refuse(socket, 500, 'Internal Server Error');
    }

    try {
      const result = (await options.invoke(functionOfRoute.get('$connect')!, {
        headers,
        multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
        queryStringParameters: query,
        requestContext: { ...requestContext, authorizer },
        isBase64Encoded: false,
      })) as { statusCode?: number } | undefined;
      const status = result?.statusCode ?? 200;
      if (status < 200 || status > 299) return refuse(socket, status, 'Connection refused');
    } catch {
      return refuse(socket, 500, 'Internal Server Error');
    }

    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection: LiveConnection = {
        id: connectionId,
        socket: ws,
        connectedAt: new Date(requestContext.connectedAt),
        lastActiveAt: new Date(),
        sourceIp: requestContext.identity.sourceIp,
        userAgent: requestContext.identity.userAgent,
        authorizer,
      };
      live.set(connectionId, connection);
      touch(connection);
      connection.lifetimeTimer = setTimeout(() => ws.close(1001, 'Going away'), options.maxConnectionMs ?? DEFAULT_MAX_CONNECTION_MS);
      ws.on('message', (data, isBinary) => void onMessage(connection, data as Buffer, isBinary));
      ws.on('close', (code, reason) => {
        const done = onClose(connection, code, reason.toString()).finally(() => disconnecting.delete(done));
        disconnecting.add(done);
      });
      ws.on('error', () => undefined);
    });
  }

  // ---- messages: route selection on $request.body.action ------------------------------------
  async function onMessage(connection: LiveConnection, data: Buffer, isBinary: boolean): Promise<void> {
    touch(connection);
    const body = isBinary ? data.toString('base64') : data.toString('utf8');
    let routeKey = '$default';
    if (!isBinary) {
      try {
        const action = (JSON.parse(body) as { action?: unknown })?.action;
        if (typeof action === 'string' && functionOfRoute.has(action) && !action.startsWith('$')) routeKey = action;
      } catch {
        // Not JSON: $default, as API Gateway does.
      }
    }
    const requestContext = {
      ...baseContext(connection.id, routeKey, 'MESSAGE'),
      messageId: randomBytes(8).toString('base64url'),
      messageDirection: 'IN',
      connectedAt: connection.connectedAt.getTime(),
      identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
      authorizer: connection.authorizer,
    };
    // A throttled message reaches no integration; the client is told in API Gateway's own error frame (the shape it
    // sends for a failed integration, below, with the 429's reason) and the connection stays open.
    if (!throttle.take(routeKey)) return gatewayError(connection, TOO_MANY_REQUESTS.message, requestContext.requestId);
    try {
      await options.invoke(functionOfRoute.get(routeKey)!, { requestContext, body, isBase64Encoded: isBinary });
    } catch {
      // What API Gateway sends back when the integration fails.
      gatewayError(connection, 'Internal server error', requestContext.requestId);
    }
  }

  /** API Gateway's own answer to a message it could not carry: `{"message", "connectionId", "requestId"}`. */
  function gatewayError(connection: LiveConnection, message: string, requestId: string): void {
    if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(JSON.stringify({ message, connectionId: connection.id, requestId }));
  }

  async function onClose(connection: LiveConnection, code: number, reason: string): Promise<void> {
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lifetimeTimer);
    live.delete(connection.id);
    await options
      .invoke(functionOfRoute.get('$disconnect')!, {
        headers: {},
        requestContext: {
          ...baseContext(connection.id, '$disconnect', 'DISCONNECT'),
          connectedAt: connection.connectedAt.getTime(),
          disconnectStatusCode: code,
          disconnectReason: reason,
          identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
          authorizer: connection.authorizer,
        },
        isBase64Encoded: false,
      })
      .catch((error: unknown) => options.log(`$disconnect failed for ${connection.id}: ${(error as Error).message}`));
  }

  function touch(connection: LiveConnection): void {
    connection.lastActiveAt = new Date();
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => connection.socket.close(1001, 'Going away'), options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  }

  function baseContext(connectionId: string, routeKey: string, eventType: string) {
    const now = new Date();
    return {
      routeKey,
      eventType,
      extendedRequestId: randomUUID(),
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      stage: options.stage,
      domainName,
      requestId: randomUUID(),
      apiId: API_ID,
      connectionId,
    };
  }

  const listening = await listen(server, options.port, options.host);
  const { port } = listening;
  domainName = `127.0.0.1:${port}`;
  return {
    url: `ws://127.0.0.1:${port}/${options.stage}`,
    port,
    connectionsEndpoint: `http://127.0.0.1:${port}/${options.stage}`,
    close: async () => {
      const closing = [...live.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            c.socket.once('close', () => resolve());
            c.socket.close(1001, 'Going away');
            setTimeout(resolve, 1000).unref();
          }),
      );
      await Promise.all(closing);
      await Promise.all(disconnecting);
      wss.close();
      await listening.close();
    },
  };
}

/** API Gateway connection ids look like `L0SM9cOFvHcCIhw=`. */
const newConnectionId = (): string => randomBytes(10).toString('base64');

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
