/**
 * Pushes to WebSocket connections: SigV4-signed requests to the `@connections`
 * API, for functions whose manifest entry `pushes`. The credentials are the
 * role's, which Lambda (and the sandbox) put in the environment: the SDK's
 * env provider, not its whole default chain (SSO, profiles, IMDS …), which
 * would nearly double ws-ping's bundle and import time for nothing.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { ENV } from '../../contract/env';
import { SignedConnectionsPusher } from '../adapters/signed-connections-pusher';
import { requireEnv } from '../config';
import type { Deps } from '../use-cases/deps';
import { PUSH_CONCURRENCY } from '../use-cases/tell-mechanics';
import { once } from '.';

const build = once(
  () =>
    new SignedConnectionsPusher(requireEnv(ENV.connectionsEndpoint), {
      // Lambda sets AWS_REGION in every function's environment.
      region: process.env.AWS_REGION ?? '',
      credentials: fromEnv(),
      maxSockets: PUSH_CONCURRENCY,
    }),
);

export const pusher: Pick<Deps, 'pusher'> = {
  get pusher() {
    return build();
  },
};
