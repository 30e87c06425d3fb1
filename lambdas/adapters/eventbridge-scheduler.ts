/**
 * The durable priority timer: one EventBridge Scheduler one-shot schedule per
 * request, named after it, firing the fallback Lambda at the window's end.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { fallbackScheduleName } from '../domain/ids';
import type { FallbackScheduler } from '../ports';

export interface FallbackTarget {
  readonly groupName: string;
  readonly functionArn: string;
  /** The role the scheduler assumes to invoke the function (and write to the DLQ). */
  readonly roleArn: string;
  readonly deadLetterQueueArn: string;
}

/** Retries with the scheduler's back-off for up to an hour, then the dead-letter queue. */
export const FALLBACK_RETRY_POLICY = { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 } as const;

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC: whole seconds, no zone suffix. */
export const atExpression = (at: Date): string => `at(${at.toISOString().slice(0, 19)})`;

export class EventBridgeFallbackScheduler implements FallbackScheduler {
  constructor(
    private readonly client: SchedulerClient,
    private readonly target: FallbackTarget,
  ) {}

  async scheduleFallback(requestId: string, at: Date): Promise<void> {
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: fallbackScheduleName(requestId),
          GroupName: this.target.groupName,
          ScheduleExpression: atExpression(at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Description: `Priority window fallback for ${requestId}`,
          Target: {
            Arn: this.target.functionArn,
            RoleArn: this.target.roleArn,
            Input: JSON.stringify({ request_id: requestId }),
            RetryPolicy: FALLBACK_RETRY_POLICY,
            DeadLetterConfig: { Arn: this.target.deadLetterQueueArn },
          },
        }),
      );
    } catch (error) {
      // Same name = same request: a retried fulfillment already scheduled it.
      if (!(error instanceof ConflictException)) throw error;
    }
  }

  async cancelFallback(requestId: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: fallbackScheduleName(requestId), GroupName: this.target.groupName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
