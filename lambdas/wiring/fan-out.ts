/** Hands messages for many mechanics to the fan-out function (Lambda, asynchronously): for functions whose manifest entry `fansOut`. */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ENV } from '../../contract/env';
import { LambdaFanOut } from '../adapters/lambda-fan-out';
import { requireEnv } from '../config';
import type { Deps } from '../use-cases/deps';
import { awsClientConfig, once } from '.';

const build = once(() => new LambdaFanOut(new LambdaClient(awsClientConfig), requireEnv(ENV.fanOutFunctionName)));

export const fanOut: Pick<Deps, 'fanOut'> = {
  get fanOut() {
    return build();
  },
};
