/** Each request's timer on EventBridge Scheduler: for functions whose manifest entry sets, clears or reads timers. */
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { ENV } from '../../contract/env';
import { EventBridgeRequestTimer } from '../adapters/eventbridge-request-timer';
import { systemClock } from '../adapters/system-clock';
import { requireEnv } from '../config';
import type { Deps } from '../use-cases/deps';
import { awsClientConfig, once } from '.';

const build = once(
  () =>
    new EventBridgeRequestTimer(
      new SchedulerClient(awsClientConfig),
      {
        groupName: requireEnv(ENV.scheduleGroupName),
        // Only functions that set timers get these; deleting needs the group alone.
        functionArn: process.env[ENV.timerFunctionArn] ?? '',
        roleArn: process.env[ENV.schedulerRoleArn] ?? '',
        deadLetterQueueArn: process.env[ENV.deadLetterQueueArn] ?? '',
      },
      systemClock,
    ),
);

export const timer: Pick<Deps, 'timer'> = {
  get timer() {
    return build();
  },
};
