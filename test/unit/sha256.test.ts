/** The signers' hash (lambdas/adapters/sha256.ts) gives the SDK's digests, and so the SDK's signatures. */
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../lambdas/adapters/sha256';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** The hex digest of `chunks` by the SDK's own Hash, the reference. */
async function sdkDigest(secret: SourceData | undefined, chunks: readonly SourceData[]): Promise<string> {
  const hash = new Hash('sha256', secret);
  for (const chunk of chunks) hash.update(chunk);
  return hex(await hash.digest());
}

describe('Sha256 (the signers’ hash)', () => {
  const bytes = new TextEncoder().encode('päyload ✓');
  const keyInsideALargerBuffer = new Uint8Array(Buffer.from('xxsecret-in-the-middlexx')).subarray(2, 22);

  it.each([
    ['a plain hash of strings and bytes', undefined, ['GET\n/', bytes, bytes.buffer]],
    ['an HMAC with a string key (read as UTF-8)', 'sëcret', ['AWS4-HMAC-SHA256', bytes]],
    ['an HMAC with a byte key', bytes, ['20261128', bytes]],
    ['an HMAC with a key that is a view into a larger buffer', keyInsideALargerBuffer, ['aws4_request']],
  ] as const)('gives the digest the SDK’s Hash gives: %s', async (_, secret, chunks) => {
    // Arrange
    const hash = new Sha256(secret);

    // Act
    for (const chunk of chunks) hash.update(chunk);
    const digest = hex(await hash.digest());

    // Assert
    expect(digest).toBe(await sdkDigest(secret, chunks));
  });

  it('starts over after reset, keeping its key', async () => {
    // Arrange
    const hash = new Sha256('key');
    hash.update('something else');

    // Act
    hash.reset();
    hash.update('data');

    // Assert
    expect(hex(await hash.digest())).toBe(await sdkDigest('key', ['data']));
  });

  it('signs a request exactly as the SDK’s Hash does', async () => {
    // Arrange
    const request = {
      method: 'POST',
      protocol: 'https:',
      hostname: 'abc.execute-api.us-east-1.amazonaws.com',
      path: '/prod/@connections/Zm9v%3D',
      headers: { host: 'abc.execute-api.us-east-1.amazonaws.com', 'content-type': 'application/json' },
      body: '{"type":"new_request"}',
    };
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'token' };
    const sign = (sha256: typeof Sha256) =>
      new SignatureV4({ service: 'execute-api', region: 'us-east-1', credentials, sha256 }).sign(structuredClone(request), {
        signingDate: new Date('2026-11-28T07:00:00Z'),
      });

    // Act
    const ours = await sign(Sha256);
    const sdk = await sign(Hash.bind(null, 'sha256') as unknown as typeof Sha256);

    // Assert
    expect(ours.headers.authorization).toMatch(/Signature=[0-9a-f]{64}$/);
    expect(ours.headers.authorization).toBe(sdk.headers.authorization);
  });
});
