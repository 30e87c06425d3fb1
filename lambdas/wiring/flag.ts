/** The priority feature flag from SSM Parameter Store, cached: for functions whose manifest entry `readsFlag`. */
import { SSMClient } from '@aws-sdk/client-ssm';
import { DEFAULT_FLAG_CACHE_TTL_SECONDS, ENV } from '../../contract/env';
import { SsmFeatureFlag } from '../adapters/ssm-flag';
import { systemClock } from '../adapters/system-clock';
import { numberEnv, requireEnv } from '../config';
import type { Deps } from '../use-cases/deps';
import { awsClientConfig, log, once } from '.';

const build = once(
  () =>
    new SsmFeatureFlag(
      new SSMClient(awsClientConfig),
      requireEnv(ENV.flagParameterName),
      numberEnv(ENV.flagCacheTtlSeconds, DEFAULT_FLAG_CACHE_TTL_SECONDS),
      systemClock,
      log,
    ),
);

export const flag: Pick<Deps, 'flag'> = {
  get flag() {
    return build();
  },
};
