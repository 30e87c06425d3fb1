/**
 * The durable priority timer: one EventBridge Scheduler one-shot schedule per
 * request, named after it, firing the fallback Lambda at the window's end.
 */
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { fallbackScheduleName, routingGuardScheduleName } from '../domain/ids';
import type { FallbackScheduler } from '../ports';

export interface FallbackTarget {
  readonly groupName: string;
  readonly functionArn: string;
  /** The function a routing guard invokes. */
  readonly routingGuardFunctionArn: string;
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

  scheduleFallback(requestId: string, at: Date): Promise<void> {
    return this.create(fallbackScheduleName(requestId), at, this.target.functionArn, { request_id: requestId }, `Priority window fallback for ${requestId}`);
  }

  cancelFallback(requestId: string): Promise<void> {
    return this.delete(fallbackScheduleName(requestId));
  }

  guardRouting(sessionId: string, at: Date): Promise<void> {
    return this.create(
      routingGuardScheduleName(sessionId),
      at,
      this.target.routingGuardFunctionArn,
      { session_id: sessionId },
      `Routing guard for session ${sessionId}`,
    );
  }

  releaseRoutingGuard(sessionId: string): Promise<void> {
    return this.delete(routingGuardScheduleName(sessionId));
  }

  private async create(name: string, at: Date, functionArn: string, input: object, description: string): Promise<void> {
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: name,
          GroupName: this.target.groupName,
          ScheduleExpression: atExpression(at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Description: description,
          Target: {
            Arn: functionArn,
            RoleArn: this.target.roleArn,
            Input: JSON.stringify(input),
            RetryPolicy: FALLBACK_RETRY_POLICY,
            DeadLetterConfig: { Arn: this.target.deadLetterQueueArn },
          },
        }),
      );
    } catch (error) {
      // Same name = same request or session: a retried call already scheduled it.
      if (!(error instanceof ConflictException)) throw error;
    }
  }

  private async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.target.groupName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
