/**
 * Each request's one durable timer: an EventBridge Scheduler one-shot
 * schedule named after the request, invoking the timer function with
 * `{request_id, due_at}`. Scheduler invokes targets "with 60 second
 * precision" (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#one-time):
 * an `at(T)` schedule runs some time inside T's minute, up to 59 s after T.
 * So the schedule is set a minute early, and the function waits for `due_at`:
 * a deadline is never missed by more than the wait's own jitter.
 * `ActionAfterCompletion: NONE` keeps the schedule after it fires, so moving
 * it is always one UpdateSchedule with no race against a deletion; it is
 * deleted when the request ends.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { timerScheduleName } from '../domain/ids';
import type { Clock, RequestTimer } from '../ports';

export interface TimerTarget {
  readonly groupName: string;
  readonly functionArn: string;
  /** The role the scheduler assumes to invoke the function (and write to the DLQ). */
  readonly roleArn: string;
  readonly deadLetterQueueArn: string;
}

/** How much earlier than its deadline a schedule is set: Scheduler's precision. */
export const SCHEDULER_PRECISION_SECONDS = 60;

/** Retries an invoke that fails (throttled, function missing) for up to an hour, then the dead-letter queue. */
export const TIMER_RETRY_POLICY = { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 } as const;

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC: whole seconds, no zone suffix. */
export const atExpression = (at: Date): string => `at(${at.toISOString().slice(0, 19)})`;

/** When to set the schedule for a deadline: a minute early, never in the past (whole seconds, rounded down). */
export function scheduleTimeFor(due: Date, now: Date): Date {
  const early = Math.max(due.getTime() - SCHEDULER_PRECISION_SECONDS * 1000, now.getTime());
  return new Date(Math.floor(early / 1000) * 1000);
}

export class EventBridgeRequestTimer implements RequestTimer {
  constructor(
    private readonly client: SchedulerClient,
    private readonly target: TimerTarget,
    private readonly clock: Clock,
  ) {}

  async set(requestId: string, due: Date, hint: 'new' | 'existing'): Promise<void> {
    const definition = this.definition(requestId, due);
    const create = () => this.client.send(new CreateScheduleCommand(definition));
    const update = () => this.client.send(new UpdateScheduleCommand(definition));
    if (hint === 'new') {
      try {
        await create();
      } catch (error) {
        if (!(error instanceof ConflictException)) throw error;
        await update();
      }
      return;
    }
    try {
      await update();
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      try {
        await create();
      } catch (again) {
        // Created by a concurrent invocation meanwhile: move that one.
        if (!(again instanceof ConflictException)) throw again;
        await update();
      }
    }
  }

  async clear(requestId: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: timerScheduleName(requestId), GroupName: this.target.groupName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }

  async isSet(requestId: string): Promise<boolean> {
    try {
      await this.client.send(new GetScheduleCommand({ Name: timerScheduleName(requestId), GroupName: this.target.groupName }));
      return true;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return false;
      throw error;
    }
  }

  private definition(requestId: string, due: Date): CreateScheduleCommandInput {
    return {
      Name: timerScheduleName(requestId),
      GroupName: this.target.groupName,
      ScheduleExpression: atExpression(scheduleTimeFor(due, this.clock.now())),
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'NONE',
      Description: `Timer of ${requestId}, due ${due.toISOString()}`,
      Target: {
        Arn: this.target.functionArn,
        RoleArn: this.target.roleArn,
        Input: JSON.stringify({ request_id: requestId, due_at: due.toISOString() }),
        RetryPolicy: TIMER_RETRY_POLICY,
        DeadLetterConfig: { Arn: this.target.deadLetterQueueArn },
      },
    };
  }
}
