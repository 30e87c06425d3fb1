/**
 * API Gateway HTTP API on one port: the routes of contract/routes.ts, payload
 * v2.0 events, the stage's route throttles (429 past a route's bucket), the
 * JWT authorizer (signature against the JWKS, iss, aud, exp, route scopes) and
 * the v2 response mapping, answering unknown routes and oversized payloads as
 * API Gateway does. Also serves the dev token issuer
 * and, apart from the API, the web console's static files (sandbox/console-site.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { httpRouteKey, httpRoutes, type FunctionName, type HttpRoute } from '../contract/routes';
import { ADMIN_SCOPE } from '../contract/scopes';
import { AwsError, lowerCaseHeaders, readBody } from './aws-wire';
import { DEV_AUDIENCE, type DevAuth } from './dev-auth';
import { SANDBOX_ACCOUNT } from './account';
import type { StaticSite } from './console-site';
import { listen, type Listening } from './listen';
import { RouteThrottle, TOO_MANY_REQUESTS } from './route-throttle';
import type { StageThrottles } from '../contract/throttles';

/** API Gateway's own limit on a request payload. */
export const HTTP_API_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface HttpGatewayOptions {
  host?: string;
  port: number;
  auth: DevAuth;
  invoke: (fn: FunctionName, event: unknown) => Promise<unknown>;
  /** Extra local-only routes (`/dev/...`) answered before the API routes; return false when not handled. */
  devRoutes?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;
  /** A static site on the same origin (the console): not part of the API's route table; return false when not handled. */
  staticSite?: StaticSite;
  /** The stage's route throttles; undefined throttles nothing. */
  throttles?: StageThrottles;
  /** The throttles' clock (epoch ms). @default Date.now */
  now?: () => number;
  log: (line: string) => void;
}

export type HttpGateway = Listening;

interface CompiledRoute {
  route: HttpRoute;
  pattern: RegExp;
  params: string[];
}

const compiled: CompiledRoute[] = httpRoutes.map((route) => {
  const params: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), params };
});

const API_ID = 'sandboxhttp';

export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGateway> {
  const keys = createLocalJWKSet(options.auth.jwks());
  const throttle = new RouteThrottle(options.throttles, options.now);
  const server: Server = createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      options.log(`http gateway error: ${(error as Error).message}`);
      if (!res.headersSent) reply(res, 500, { message: 'Internal Server Error' });
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.staticSite?.(req, res)) return;
    let body: Buffer;
    try {
      body = await readBody(req, HTTP_API_MAX_PAYLOAD_BYTES);
    } catch (error) {
      if (error instanceof AwsError && error.status === 413) return reply(res, 413, { message: 'Request Entity Too Large' });
      throw error;
    }
    if (options.devRoutes && (await options.devRoutes(req, res, body))) return;

    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const match = findRoute(method, url.pathname);
    if (match === 'bad_request') return reply(res, 400, { message: 'Bad Request' });
    if (!match) return reply(res, 404, { message: 'Not Found' });
    // Throttled before the authorizer and the integration run: a refused request costs neither.
    if (!throttle.take(httpRouteKey(match.route))) return reply(res, TOO_MANY_REQUESTS.status, { message: TOO_MANY_REQUESTS.message });

    const claims = await authorize(req, match.route);
    if (claims === 'unauthorized') return reply(res, 401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
    if (claims === 'forbidden') return reply(res, 403, { message: 'Forbidden' });

    const event = payloadV2(req, url, method, match, body, claims, server);
    let result: unknown;
    try {
      result = await options.invoke(match.route.function, event);
    } catch (error) {
      options.log(`${match.route.function} failed: ${(error as Error).message}`);
      return reply(res, 500, { message: 'Internal Server Error' });
    }
    respond(res, result);
  }

  async function authorize(req: IncomingMessage, route: HttpRoute): Promise<JWTPayload | 'unauthorized' | 'forbidden'> {
    // The HTTP API's JWT authorizer reads $request.header.Authorization, with or without "Bearer ".
    const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '').trim();
    if (!token) return 'unauthorized';
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: options.auth.issuer, audience: DEV_AUDIENCE, algorithms: ['RS256'] }));
    } catch {
      return 'unauthorized';
    }
    // API Gateway also demands iat before now; jose checks iat only against a maxTokenAge.
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000)) return 'unauthorized';
    if (route.auth === 'admin' && !scopesOf(payload).includes(ADMIN_SCOPE)) return 'forbidden';
    return payload;
  }

  return listen(server, options.port, options.host);
}

function findRoute(method: string, path: string): { route: HttpRoute; pathParameters: Record<string, string> } | 'bad_request' | undefined {
  for (const { route, pattern, params } of compiled) {
    if (route.method !== method) continue;
    const found = pattern.exec(path);
    if (!found) continue;
    try {
      return { route, pathParameters: Object.fromEntries(params.map((name, i) => [name, decodeURIComponent(found[i + 1]!)])) };
    } catch (error) {
      // A malformed escape (`%`, `%zz`, a cut UTF-8 sequence) is the client's mistake: a 400, never a 5xx.
      if (error instanceof URIError) return 'bad_request';
      throw error;
    }
  }
  return undefined;
}

/** `scope` (space separated) or `scp` (array), as API Gateway reads them. */
const scopesOf = (payload: JWTPayload): string[] =>
  typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : Array.isArray(payload.scp) ? payload.scp.map(String) : [];

function payloadV2(
  req: IncomingMessage,
  url: URL,
  method: string,
  match: { route: HttpRoute; pathParameters: Record<string, string> },
  body: Buffer,
  claims: JWTPayload,
  server: Server,
): unknown {
  const headers = lowerCaseHeaders(req);
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const textual = /^(application\/(json|.*\+json|x-www-form-urlencoded|xml)|text\/)/i.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  const routeKey = httpRouteKey(match.route);
  const scopes = scopesOf(claims);
  const { port } = server.address() as AddressInfo;
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(headers.cookie ? { cookies: headers.cookie.split(/;\s*/) } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: SANDBOX_ACCOUNT,
      apiId: API_ID,
      // Claims reach the handler as strings, as API Gateway passes them.
      authorizer: {
        jwt: {
          claims: Object.fromEntries(
            Object.entries(claims).map(([k, v]) => [k, typeof v === 'string' ? v : Array.isArray(v) ? `[${v.join(' ')}]` : String(v)]),
          ),
          scopes: scopes.length ? scopes : null,
        },
      },
      domainName: `127.0.0.1:${port}`,
      domainPrefix: '127',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(match.pathParameters).length ? { pathParameters: match.pathParameters } : {}),
    ...(body.length ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
}

/** The payload v2.0 response mapping: a `statusCode` object as given, anything else as a 200 JSON body. */
function respond(res: ServerResponse, result: unknown): void {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const r = result as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean; cookies?: string[] };
    const payload = r.body === undefined ? Buffer.alloc(0) : r.isBase64Encoded ? Buffer.from(r.body, 'base64') : Buffer.from(r.body);
    res.writeHead(r.statusCode, {
      'content-type': 'application/json',
      ...r.headers,
      ...(r.cookies?.length ? { 'set-cookie': r.cookies } : {}),
      'content-length': payload.length,
      'apigw-requestid': randomUUID(),
    });
    res.end(payload);
    return;
  }
  reply(res, 200, result === undefined ? '' : result);
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'apigw-requestid': randomUUID(), ...headers });
  res.end(payload);
}
