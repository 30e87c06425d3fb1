/** JWT verification against the issuer's JWKS (jose): for functions whose manifest entry `verifiesJwt`. */
import { ENV } from '../../contract/env';
import { JoseTokenVerifier } from '../adapters/jose-token-verifier';
import { requireEnv } from '../config';
import type { Deps } from '../use-cases/deps';
import { once } from '.';

const build = once(() => {
  const issuer = requireEnv(ENV.jwtIssuer);
  return new JoseTokenVerifier(process.env[ENV.jwksUrl] || `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`, issuer, requireEnv(ENV.jwtAudience));
});

export const tokens: Pick<Deps, 'tokens'> = {
  get tokens() {
    return build();
  },
};
