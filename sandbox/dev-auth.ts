/**
 * A development token issuer standing in for Cognito/Auth0: one RS256 key
 * pair (kept in the data dir so tokens survive restarts), its JWKS, and
 * `POST /dev/token`. The gateways verify tokens against this JWKS exactly as
 * the HTTP API's JWT authorizer verifies a real issuer's.
 */
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { JsonFile } from './json-file';

export const DEV_AUDIENCE = 'priority-dispatch';
const KEY_ID = 'sandbox-dev-key';
type SigningKey = Awaited<ReturnType<typeof importJWK>>;

export interface TokenRequest {
  sub: string;
  scope?: string;
  /** Seconds. @default 43200 (12 h) */
  expires_in?: number;
}

export class DevAuth {
  private constructor(
    readonly issuer: string,
    private readonly privateKey: SigningKey,
    private readonly publicJwk: JWK,
  ) {}

  static async create(options: { dataDir?: string; issuer: string }): Promise<DevAuth> {
    const file = new JsonFile<{ privateJwk: JWK; publicJwk: JWK } | null>(options.dataDir, 'dev-auth-key.json');
    let stored = file.read(null);
    if (!stored) {
      const pair = await generateKeyPair('RS256', { extractable: true });
      stored = { privateJwk: await exportJWK(pair.privateKey), publicJwk: await exportJWK(pair.publicKey) };
      file.write(stored);
    }
    const privateKey = await importJWK(stored.privateJwk, 'RS256');
    return new DevAuth(options.issuer, privateKey, { ...stored.publicJwk, kid: KEY_ID, alg: 'RS256', use: 'sig' });
  }

  get jwksUrl(): string {
    return `${this.issuer}/.well-known/jwks.json`;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  async issue(request: TokenRequest): Promise<string> {
    return new SignJWT(request.scope ? { scope: request.scope } : {})
      .setProtectedHeader({ alg: 'RS256', kid: KEY_ID, typ: 'JWT' })
      .setSubject(request.sub)
      .setIssuer(this.issuer)
      .setAudience(DEV_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${request.expires_in ?? 12 * 3600}s`)
      .sign(this.privateKey);
  }
}
