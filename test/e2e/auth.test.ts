/**
 * Nobody reads or takes what is not theirs: forged, expired and misaddressed
 * tokens are refused on the HTTP API and at the WebSocket handshake, a
 * customer cannot see or cancel another's session, a suspended mechanic is
 * cut off, and the admin route wants its scope.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { DEV_AUDIENCE } from '../../sandbox/dev-auth';
import { api, connectionIdsOf, eventually, handshakeStatus, MechanicClient, startTestSandbox } from './clients';

let sandbox: Sandbox;
let dataDir: string;
let issuerKey: Awaited<ReturnType<typeof importJWK>>;
const ISSUER = 'https://auth.sandbox.priority-dispatch.local';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pd-auth-'));
  sandbox = await startTestSandbox({ dataDir, flag: 'off' });
  // The issuer's own key (from the sandbox's data dir), to forge tokens that differ from a good one in one claim only.
  const stored = JSON.parse(readFileSync(join(dataDir, 'dev-auth-key.json'), 'utf8')) as { privateJwk: JWK };
  issuerKey = await importJWK(stored.privateJwk, 'RS256');
});
afterAll(async () => {
  await sandbox.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token like the issuer's, with one thing changed. */
async function forged(sub: string, change: { iss?: string; aud?: string; expSecondsFromNow?: number; key?: 'other' }): Promise<string> {
  const key = change.key === 'other' ? (await generateKeyPair('RS256')).privateKey : issuerKey;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: 'sandbox-dev-key' })
    .setSubject(sub)
    .setIssuer(change.iss ?? ISSUER)
    .setAudience(change.aud ?? DEV_AUDIENCE)
    .setIssuedAt(now - 60)
    .setExpirationTime(now + (change.expSecondsFromNow ?? 3600))
    .sign(key);
}

async function badTokens(sub: string): Promise<Record<string, string>> {
  const good = await sandbox.token({ sub });
  const [header, payload, signature] = good.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  return {
    expired: await forged(sub, { expSecondsFromNow: -120 }),
    'wrong issuer': await forged(sub, { iss: 'https://evil.example.com' }),
    'wrong audience': await forged(sub, { aud: 'someone-else' }),
    'wrong key': await forged(sub, { key: 'other' }),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
    tampered: `${header}.${b64({ ...claims, sub: 'someone-else' })}.${signature}`,
    'not a JWT': 'hello',
  };
}

describe('HTTP API', () => {
  it('refuses every bad token with 401 before any handler runs, and writes nothing', async () => {
    // Arrange
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    const tokens = await badTokens(customer);
    const good = await sandbox.token({ sub: customer });

    // Act + Assert
    for (const [name, token] of Object.entries(tokens)) {
      const booking = await api(sandbox, 'POST', '/intake/start', { token, body: { plan: 'free', concern: 'x' }, headers: { 'idempotency-key': `k-${name}` } });
      expect({ name, ...booking }).toEqual({ name, status: 401, body: { message: 'Unauthorized' } });
    }
    // The same Idempotency-Keys are unused: a good token now creates each booking fresh.
    const fresh = await api<{ status: string }>(sandbox, 'POST', '/intake/start', {
      token: good,
      body: { plan: 'paid', concern: 'x' },
      headers: { 'idempotency-key': 'k-expired' },
    });
    expect(fresh.status).toBe(201);
  });

  it("a customer cannot read or cancel another customer's session (404, not 403)", async () => {
    const owner = await sandbox.token({ sub: `owner-${randomUUID().slice(0, 8)}` });
    const stranger = await sandbox.token({ sub: `stranger-${randomUUID().slice(0, 8)}` });
    const booked = await api<{ session_id: string }>(sandbox, 'POST', '/intake/start', { token: owner, body: { plan: 'paid', concern: 'Oil leak' } });

    const read = await api(sandbox, 'GET', `/sessions/${booked.body.session_id}`, { token: stranger });
    const cancel = await api(sandbox, 'POST', `/sessions/${booked.body.session_id}/cancel`, { token: stranger });
    const checkout = await api(sandbox, 'POST', `/sessions/${booked.body.session_id}/checkout/complete`, { token: stranger });

    for (const answer of [read, cancel, checkout]) expect(answer).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect((await api<{ status: string }>(sandbox, 'GET', `/sessions/${booked.body.session_id}`, { token: owner })).body.status).toBe('awaiting_checkout');
  });

  it('the admin route wants the admin scope', async () => {
    const body = { status: 'approved' };
    const id = `mech-${randomUUID().slice(0, 8)}`;
    const refused = await Promise.all(
      [undefined, 'administrator', 'read write', ''].map(
        async (scope) => (await api(sandbox, 'PUT', `/mechanics/${id}`, { token: await sandbox.token({ sub: 'ops', scope }), body })).status,
      ),
    );
    const allowed = await api(sandbox, 'PUT', `/mechanics/${id}`, { token: await sandbox.token({ sub: 'ops', scope: 'read admin' }), body });

    expect(refused).toEqual([403, 403, 403, 403]);
    expect(allowed.status).toBe(200);
  });
});

describe('WebSocket handshake', () => {
  it('refuses every bad token (401), a missing one (401) and an unapproved mechanic (403)', async () => {
    const tokens = await badTokens('mech-alice');

    for (const [name, token] of Object.entries(tokens)) {
      expect({ name, status: await handshakeStatus(`${sandbox.wsUrl}?token=${encodeURIComponent(token)}`) }).toEqual({ name, status: 401 });
    }
    expect(await handshakeStatus(sandbox.wsUrl)).toBe(401);
    expect(await handshakeStatus(`${sandbox.wsUrl}?token=${await sandbox.token({ sub: 'mech-dave' })}`)).toBe(403);
    expect(await handshakeStatus(`${sandbox.wsUrl}?token=${await sandbox.token({ sub: `mech-unknown-${randomUUID()}` })}`)).toBe(403);
    expect(await handshakeStatus(`${sandbox.wsUrl}?token=${await sandbox.token({ sub: 'mech-alice' })}`)).toBe(101);
  });

  it('a suspended mechanic is disconnected, gets no more offers and cannot come back', async () => {
    // Arrange: the mechanic and a colleague who stays approved (the control: the broadcast after the suspension reaches them)
    const admin = await sandbox.token({ sub: 'ops', scope: 'admin' });
    const id = `mech-${randomUUID().slice(0, 8)}`;
    const colleagueId = `mech-${randomUUID().slice(0, 8)}`;
    await api(sandbox, 'PUT', `/mechanics/${id}`, { token: admin, body: { status: 'approved' } });
    await api(sandbox, 'PUT', `/mechanics/${colleagueId}`, { token: admin, body: { status: 'approved' } });
    const client = await MechanicClient.connect(sandbox, id);
    const colleague = await MechanicClient.connect(sandbox, colleagueId);
    const customer = await sandbox.token({ sub: `cust-${randomUUID().slice(0, 8)}` });
    const first = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', { token: customer, body: { plan: 'free', concern: 'Before' } });
    await client.waitFor('new_request', first.body.request_id);

    // Act
    await api(sandbox, 'PUT', `/mechanics/${id}`, { token: admin, body: { status: 'suspended' } });

    // Assert: cut off, and no connection left for a broadcast to reach
    await eventually(() => client.closed, "the server to close the suspended mechanic's socket");
    await eventually(async () => (await connectionIdsOf(sandbox, id)).length === 0, "the suspended mechanic's connection items to go");
    const second = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', { token: customer, body: { plan: 'free', concern: 'After' } });
    expect(second.status).toBe(201);
    expect(await colleague.waitFor('new_request', second.body.request_id)).toMatchObject({ concern: 'After' });
    expect(client.of('new_request', second.body.request_id)).toEqual([]);
    expect(await handshakeStatus(`${sandbox.wsUrl}?token=${await sandbox.token({ sub: id })}`)).toBe(403);
    await colleague.close();
  });
});
