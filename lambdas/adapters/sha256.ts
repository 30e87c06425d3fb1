/**
 * SHA-256 and HMAC-SHA256 for AWS's SigV4 signer (the `sha256` option of
 * `@smithy/signature-v4` and of every SDK client): node:crypto, as the SDK's
 * own `Hash` is, except that an HMAC key given as bytes is handed to
 * `createHmac` as a KeyObject. Node 24 spends about 15 µs recognising a plain
 * Buffer key (its KeyObject and CryptoKey checks; 3 µs for a string or a
 * KeyObject, measured on this machine), and a signature takes two such HMACs
 * per request: the signer's cache key and the signature itself. Same bytes in,
 * same digest out (test/unit/sha256.test.ts compares it with the SDK's).
 */
import { createHash, createHmac, createSecretKey, type Hash, type Hmac } from 'node:crypto';
import type { Checksum, SourceData } from '@smithy/types';

export class Sha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.start();
  }

  update(data: SourceData): void {
    this.hash.update(typeof data === 'string' ? data : buffer(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }

  reset(): void {
    this.hash = this.start();
  }

  private start(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    // A string key is fast as it is (read as UTF-8, as the SDK's Hash reads it).
    return createHmac('sha256', typeof this.secret === 'string' ? this.secret : createSecretKey(buffer(this.secret)));
  }
}

/** The same bytes as a Buffer, without a copy. */
function buffer(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}
