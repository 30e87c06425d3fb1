/** JWT verification for the WebSocket handshake, against the issuer's JWKS (as the HTTP API's JWT authorizer does). */
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { TokenVerifier, VerifiedToken } from '../ports';

const JWKS_TIMEOUT_MS = 10_000;

export class JoseTokenVerifier implements TokenVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(
    jwksUrl: string,
    private readonly issuer: string,
    private readonly audience: string,
  ) {
    // jose's default (5 s) is tight for a container's first fetch while its host is busy starting others;
    // the handshake waits at most this long for the issuer's keys, once per container (then they are cached).
    this.keys = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS });
  }

  async verify(token: string): Promise<VerifiedToken> {
    const { payload } = await jwtVerify(token, this.keys, {
      issuer: this.issuer,
      audience: this.audience,
      algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384'],
      requiredClaims: ['sub', 'exp'],
    });
    const scope = typeof payload.scope === 'string' ? payload.scope : '';
    return { subject: payload.sub!, scopes: scope.split(' ').filter(Boolean) };
  }
}
