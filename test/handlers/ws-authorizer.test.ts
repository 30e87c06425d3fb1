/**
 * The WebSocket `$connect` REQUEST authorizer, verifying real RS256 tokens
 * against a real JWKS served over HTTP on 127.0.0.1: a bad token is a thrown
 * "Unauthorized" (API Gateway's 401); a good token of a mechanic who may not
 * work is an explicit Deny (403); an approved mechanic is an Allow with context.
 * With `role=customer` any valid token is a customer (Allow); an unknown role is a Deny.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../contract/env';
import { JWT_AUDIENCE, JWT_ISSUER, wsAuthorizerEvent } from '../support/handler-events';
import { type AwsWires, captureLogs, setUpHandlerEnv } from '../support/handler-env';

let wires: AwsWires;
const logs = captureLogs();
const KID = 'test-key-1';
let jwks: Server;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
let wsAuthorizer: typeof import('../../lambdas/handlers/ws-authorizer')['handler'];

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  jwks = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const { port } = jwks.address() as AddressInfo;
  ({ wires } = await setUpHandlerEnv({ [ENV.jwksUrl]: `http://127.0.0.1:${port}/.well-known/jwks.json` }));
  ({ handler: wsAuthorizer } = await import('../../lambdas/handlers/ws-authorizer'));
});
afterAll(async () => {
  await wires.close();
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => jwks.close(() => resolve()));
});
beforeEach(async () => {
  await wires.reset();
  logs.clear();
});

interface TokenOptions {
  sub?: string;
  issuer?: string;
  audience?: string;
  expiresAt?: number | string;
  key?: CryptoKey;
  omitExp?: boolean;
}

function token(options: TokenOptions = {}): Promise<string> {
  let jwt = new SignJWT({ scope: 'mechanic' })
    .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
    .setIssuer(options.issuer ?? JWT_ISSUER)
    .setAudience(options.audience ?? JWT_AUDIENCE)
    .setIssuedAt();
  if (options.sub !== undefined) jwt = jwt.setSubject(options.sub);
  if (!options.omitExp) jwt = jwt.setExpirationTime(options.expiresAt ?? '10m');
  return jwt.sign(options.key ?? signingKey);
}

describe('valid tokens', () => {
  it('an approved mechanic → Allow on the methodArn, with {role: mechanic, mechanic_id, workshop_id} context', async () => {
    // Arrange
    const workshopId = `ws-${randomUUID().slice(0, 6)}`;
    const mechanic = await wires.addMechanic({ workshopId, connections: 0 });
    const event = wsAuthorizerEvent({ token: await token({ sub: mechanic.mechanicId }) });

    // Act
    const result = await wsAuthorizer(event);

    // Assert
    expect(result).toEqual({
      principalId: mechanic.mechanicId,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
      context: { role: 'mechanic', mechanic_id: mechanic.mechanicId, workshop_id: workshopId, paused: 'false' },
    });
  });

  it('role=mechanic is the same as no role', async () => {
    // Arrange
    const mechanic = await wires.addMechanic({ connections: 0 });

    // Act
    const result = await wsAuthorizer(wsAuthorizerEvent({ token: await token({ sub: mechanic.mechanicId }), role: 'mechanic' }));

    // Assert
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
    expect(result.context).toEqual({ role: 'mechanic', mechanic_id: mechanic.mechanicId, workshop_id: '', paused: 'false' });
  });

  it("a mechanic of no workshop → Allow with workshop_id '' (context values must be strings)", async () => {
    // Arrange
    const mechanic = await wires.addMechanic({ connections: 0 });

    // Act
    const result = await wsAuthorizer(wsAuthorizerEvent({ token: await token({ sub: mechanic.mechanicId }) }));

    // Assert
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
    expect(result.context).toEqual({ role: 'mechanic', mechanic_id: mechanic.mechanicId, workshop_id: '', paused: 'false' });
    for (const value of Object.values(result.context ?? {})) expect(typeof value).toBe('string');
  });

  it.each(['pending', 'suspended'] as const)('a %s mechanic → Deny, no context', async (status) => {
    // Arrange
    const mechanic = await wires.addMechanic({ status, connections: 0 });
    const event = wsAuthorizerEvent({ token: await token({ sub: mechanic.mechanicId }) });

    // Act
    const result = await wsAuthorizer(event);

    // Assert
    expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }]);
    expect(result.context).toEqual({});
    expect(result.principalId).not.toBe(mechanic.mechanicId);
  });

  it('an unknown mechanic → Deny', async () => {
    // Arrange
    const event = wsAuthorizerEvent({ token: await token({ sub: `mech-nobody-${randomUUID().slice(0, 6)}` }) });

    // Act
    const result = await wsAuthorizer(event);

    // Assert
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: event.methodArn });
    expect(logs.lines.some((l) => l.message.includes('not an approved mechanic'))).toBe(true);
  });
});

describe('customers (role=customer)', () => {
  it('any valid token → Allow with {role: customer, customer_id: sub}; no mechanic is looked up', async () => {
    // Arrange: a subject nobody registered, of a shape no mechanic id may have
    const customerId = `auth0|${randomUUID()}`;
    const event = wsAuthorizerEvent({ token: await token({ sub: customerId }), role: 'customer' });

    // Act
    const result = await wsAuthorizer(event);

    // Assert
    expect(result).toEqual({
      principalId: customerId,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
      context: { role: 'customer', customer_id: customerId },
    });
  });

  it("an approved mechanic's token with role=customer connects as a customer (their own bookings), not as a mechanic", async () => {
    // Arrange
    const mechanic = await wires.addMechanic({ connections: 0 });

    // Act
    const result = await wsAuthorizer(wsAuthorizerEvent({ token: await token({ sub: mechanic.mechanicId }), role: 'customer' }));

    // Assert
    expect(result.context).toEqual({ role: 'customer', customer_id: mechanic.mechanicId });
  });

  it('a bad token → throw "Unauthorized", as for mechanics', async () => {
    // Arrange
    const event = wsAuthorizerEvent({ token: await token({ sub: 'cust-1', key: strangerKey }), role: 'customer' });

    // Act
    const outcome = wsAuthorizer(event);

    // Assert
    await expect(outcome).rejects.toThrowError(/^Unauthorized$/);
    expect(logs.lines.filter((l) => l.message.includes('invalid token')).map((l) => String(l.error))).toEqual([
      expect.stringMatching(/JWSSignatureVerificationFailed/),
    ]);
  });

  it.each(['admin', 'Customer', ''])('an unknown role (%j) → Deny, no context, even with a valid token of an approved mechanic', async (role) => {
    // Arrange
    const mechanic = await wires.addMechanic({ connections: 0 });
    const event = wsAuthorizerEvent({ token: await token({ sub: mechanic.mechanicId }), role });

    // Act
    const result = await wsAuthorizer(event);

    // Assert
    expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }]);
    expect(result.context).toEqual({});
    expect(logs.lines.some((l) => l.message.includes('unknown role'))).toBe(true);
  });
});

describe('bad tokens → throw "Unauthorized"', () => {
  /** Each case names why jose refused it, so a case cannot pass for another reason (e.g. an unreachable JWKS). */
  const cases: [string, () => Promise<string | undefined>, RegExp | null][] = [
    [
      'a bad signature (right kid, other key)',
      async () => token({ sub: (await wires.addMechanic({ connections: 0 })).mechanicId, key: strangerKey }),
      /JWSSignatureVerificationFailed/,
    ],
    ['a wrong issuer', async () => token({ sub: (await wires.addMechanic({ connections: 0 })).mechanicId, issuer: 'https://evil.example' }), /"iss"/],
    ['a wrong audience', async () => token({ sub: (await wires.addMechanic({ connections: 0 })).mechanicId, audience: 'someone-else' }), /"aud"/],
    [
      'an expired token',
      async () => token({ sub: (await wires.addMechanic({ connections: 0 })).mechanicId, expiresAt: Math.floor(Date.now() / 1000) - 120 }),
      /JWTExpired/,
    ],
    ['a token without exp', async () => token({ sub: (await wires.addMechanic({ connections: 0 })).mechanicId, omitExp: true }), /"exp"/],
    ['a token without sub', async () => token({}), /"sub"/],
    ['a token that is not a JWT', async () => 'not.a.jwt', /JWSInvalid|JWTInvalid/],
    // The authorizer names no identity source (it takes ?ticket= too), so API Gateway calls it for these: it is the line.
    ['an empty token', async () => '', null],
    ['a missing token', async () => undefined, null],
  ];

  it.each(cases)('%s', async (_name, makeToken, why) => {
    // Arrange
    const event = wsAuthorizerEvent({ token: await makeToken() });

    // Act
    const outcome = wsAuthorizer(event);

    // Assert: exactly this message, or API Gateway answers 500 instead of 401
    await expect(outcome).rejects.toThrowError(/^Unauthorized$/);
    const refusals = logs.lines.filter((l) => l.message.includes('invalid token'));
    if (why) expect(refusals.map((l) => String(l.error))).toEqual([expect.stringMatching(why)]);
    else expect(refusals).toEqual([]);
  });
});
