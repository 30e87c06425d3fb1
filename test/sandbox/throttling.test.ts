/**
 * The gateways' route throttles, each gateway alone with stand-in functions and an injected clock, so a
 * refill is a clock move, not a wait: past a route's bucket the HTTP API answers 429
 * `{"message":"Too Many Requests"}` before its authorizer or integration runs; a WebSocket `$connect` is
 * refused 429 at the handshake before the authorizer runs; a message gets API Gateway's error frame, reaches
 * no function, and the connection stays open. Other routes keep their own buckets.
 */
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionName } from '../../contract/routes';
import type { StageThrottles } from '../../contract/throttles';
import { DevAuth } from '../../sandbox/dev-auth';
import { type HttpGateway, startHttpGateway } from '../../sandbox/http-gateway';
import { SandboxPrincipals } from '../../sandbox/iam';
import { startWebSocketGateway, type WebSocketGateway } from '../../sandbox/websocket-gateway';
import { eventually, handshakeStatus } from '../e2e/clients';

let now = 1_000_000;
const clock = () => now;
const invoked: { fn: FunctionName; routeKey: string }[] = [];
const invokedOf = (fn: FunctionName) => invoked.filter((i) => i.fn === fn).length;

describe('HTTP API', () => {
  let gateway: HttpGateway;
  let auth: DevAuth;
  const throttles: StageThrottles = { defaultRoute: { rateLimit: 1, burstLimit: 3 }, routes: { 'POST /intake/start': { rateLimit: 0.5, burstLimit: 1 } } };

  beforeAll(async () => {
    auth = await DevAuth.create({ issuer: 'https://auth.throttling.test' });
    gateway = await startHttpGateway({
      port: 0,
      auth,
      throttles,
      now: clock,
      log: () => undefined,
      invoke: async (fn, event) => {
        invoked.push({ fn, routeKey: (event as { routeKey: string }).routeKey });
        return { statusCode: fn === 'intakeStart' ? 201 : 200, body: '{}' };
      },
    });
  });
  afterAll(() => gateway.close());

  const call = async (method: string, path: string, token?: string) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: method === 'POST' ? '{}' : undefined,
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('answers 429 past a route’s bucket, before the authorizer (no token needed) and the function; other routes are not touched; a refill lets it through', async () => {
    // Arrange
    const token = await auth.issue({ sub: 'cust-throttled' });

    // Act
    const first = await call('POST', '/intake/start', token);
    const throttled = await call('POST', '/intake/start', token);
    const throttledWithoutToken = await call('POST', '/intake/start');
    const reads = [await call('GET', '/sessions/s-1', token), await call('GET', '/sessions/s-1', token)];
    const intakesBeforeRefill = invokedOf('intakeStart');
    now += 1_999;
    const stillEmpty = await call('POST', '/intake/start', token);
    now += 1;
    const refilled = await call('POST', '/intake/start', token);

    // Assert
    expect(first.status).toBe(201);
    expect(throttled).toEqual({ status: 429, body: { message: 'Too Many Requests' } });
    expect(throttledWithoutToken).toEqual({ status: 429, body: { message: 'Too Many Requests' } });
    expect(reads.map((r) => r.status)).toEqual([200, 200]);
    expect(intakesBeforeRefill).toBe(1);
    expect(stillEmpty.status).toBe(429);
    expect(refilled.status).toBe(201);
    expect(invokedOf('intakeStart')).toBe(2);
  });
});

describe('WebSocket API', () => {
  let gateway: WebSocketGateway;
  const sockets: WebSocket[] = [];
  const throttles: StageThrottles = { defaultRoute: { rateLimit: 1, burstLimit: 2 }, routes: { accept: { rateLimit: 0.5, burstLimit: 1 } } };

  beforeAll(async () => {
    gateway = await startWebSocketGateway({
      port: 0,
      stage: 'test',
      log: () => undefined,
      principals: new SandboxPrincipals(),
      throttles,
      now: clock,
      invoke: async (fn, event) => {
        const { routeKey } = (event as { requestContext: { routeKey?: string } }).requestContext;
        invoked.push({ fn, routeKey: routeKey ?? 'authorizer' });
        return { principalId: 'mech-1', policyDocument: { Statement: [{ Effect: 'Allow' }] }, context: {}, statusCode: 200 };
      },
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await gateway.close();
  });

  async function open(): Promise<{ socket: WebSocket; received: Record<string, unknown>[] }> {
    const socket = new WebSocket(`${gateway.url}?token=anything`);
    sockets.push(socket);
    const received: Record<string, unknown>[] = [];
    socket.on('message', (data) => received.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return { socket, received };
  }

  it('refuses a $connect past its bucket with 429 at the handshake, before the authorizer runs; a refill lets the next one in', async () => {
    // Arrange: the bucket (burst 2) emptied by two connections
    await open();
    await open();
    const authorizerRuns = invokedOf('wsAuthorizer');

    // Act
    const refused = await handshakeStatus(`${gateway.url}?token=anything`);
    now += 1_000;
    const admitted = await handshakeStatus(`${gateway.url}?token=anything`);

    // Assert
    expect(refused).toBe(429);
    expect(admitted).toBe(101);
    expect(invokedOf('wsAuthorizer')).toBe(authorizerRuns + 1);
  });

  it('answers a message past its route’s bucket with API Gateway’s error frame and runs nothing; the connection stays open, other routes answer, a refill lets it through', async () => {
    // Arrange
    now += 60_000;
    const mechanic = await open();
    const accepts = () => invoked.filter((i) => i.routeKey === 'accept').length;
    const acceptsBefore = accepts();

    // Act
    mechanic.socket.send(JSON.stringify({ action: 'accept', request_id: 'req-1' }));
    mechanic.socket.send(JSON.stringify({ action: 'accept', request_id: 'req-2' }));
    mechanic.socket.send(JSON.stringify({ action: 'ping' }));
    await eventually(() => mechanic.received.length === 1 && invoked.some((i) => i.routeKey === 'ping'), 'the throttling frame and the ping');
    const acceptsWhileEmpty = accepts() - acceptsBefore;
    now += 2_000;
    mechanic.socket.send(JSON.stringify({ action: 'accept', request_id: 'req-3' }));
    await eventually(() => accepts() - acceptsBefore === 2, 'the accept after the refill to run');

    // Assert
    expect(acceptsWhileEmpty).toBe(1);
    expect(mechanic.received).toEqual([{ message: 'Too Many Requests', connectionId: expect.any(String), requestId: expect.any(String) }]);
    expect(mechanic.socket.readyState).toBe(WebSocket.OPEN);
  });
});
