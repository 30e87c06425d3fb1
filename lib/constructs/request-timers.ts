/**
 * Each request's one durable timer, and the dead-letter queue of everything
 * invoked asynchronously. What flows through here: a request's one-shot
 * schedule, named `timer-<request_id>`, is created at run time by the
 * functions that set timers (not by this stack) in this group:
 * `at(deadline − 60 s)` (Scheduler fires somewhere inside the minute, so it is
 * set a minute early and the timer function waits for `due_at`), flexible
 * window OFF, `ActionAfterCompletion: NONE` (kept after it fires, so moving it
 * is always one UpdateSchedule), a retry policy and this DLQ. It is deleted
 * when the request ends (accepted, cancelled, expired). When it fires, the
 * Scheduler assumes this role to invoke the timer function with
 * `{"request_id","due_at"}`. The async targets (`asyncTargets` in
 * contract/routes.ts: the timer and the fan-out) send an event they failed on
 * after Lambda's retries to the same DLQ; one message there raises the alarm.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IDestination, IFunction } from 'aws-cdk-lib/aws-lambda';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

/**
 * Lambda's default for asynchronous invocations, stated so it cannot drift:
 * an event whose run throws is tried twice more, then goes to the DLQ.
 */
export const ASYNC_RETRY_ATTEMPTS = 2;

export interface RequestTimersProps {
  /** Name of the schedule group (`scheduleGroupName(stage)` from contract/naming.ts). */
  readonly scheduleGroupName: string;
  /** The one function the schedules invoke (`asyncTargets.timer` in contract/routes.ts). */
  readonly target: IFunction;
  /** Applies to the group and the DLQ. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class RequestTimers extends Construct {
  readonly group: ScheduleGroup;
  /** The timer function: the schedules' only target. */
  readonly target: IFunction;
  /** The role the Scheduler assumes: invoke the timer function, send to the DLQ, nothing else. */
  readonly role: Role;
  /** Timer events the Scheduler could not deliver, and async-target events that failed every attempt. */
  readonly deadLetterQueue: Queue;
  /** Fires as soon as one timer or fan-out event could not be delivered. */
  readonly deadLetterAlarm: Alarm;
  /** `arn:…:scheduler:{region}:{account}:schedule/{group}/*`: every schedule of this group. */
  readonly scheduleArnPattern: string;

  constructor(scope: Construct, id: string, props: RequestTimersProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const stack = Stack.of(this);
    this.target = props.target;

    this.group = new ScheduleGroup(this, 'Group', {
      scheduleGroupName: props.scheduleGroupName,
      removalPolicy,
    });
    this.scheduleArnPattern = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${props.scheduleGroupName}/*`,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the timer schedules and of the timer and fan-out functions’ async invocations; a DLQ of a DLQ would only hide failures from the alarm.',
    );

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'A timer or fan-out event could not be delivered: a request may be stuck (routing unfinished, priority window not ended, not expired) or mechanics missed a message. Inspect the DLQ message; see the runbook.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.role = new Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler to run the request timer function',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        // Confused-deputy guard: only schedules of this account may use the role.
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    // The unqualified ARN only: the schedules target the function itself, never a version or alias.
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.target.functionArn] }));
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));
  }

  /**
   * Send the function's failed asynchronous invocations to the DLQ. The
   * Scheduler and the fan-out callers invoke asynchronously: an event whose run
   * throws is retried by Lambda, not by its sender, and after the last attempt
   * it would be dropped silently. In the DLQ, the alarm fires.
   */
  catchAsyncFailures(fn: IFunction): void {
    fn.configureAsyncInvoke({
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      onFailure: new ExactQueueDestination(this.deadLetterQueue),
    });
  }
}

/**
 * An async-invocation failure destination granting only `sqs:SendMessage`
 * (the stock `SqsDestination` also grants GetQueueAttributes and GetQueueUrl).
 */
class ExactQueueDestination implements IDestination {
  constructor(private readonly queue: Queue) {}

  bind(_scope: Construct, fn: IFunction): { destination: string } {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}
