/**
 * The durable fallback timer. What flows through here: a priority request's
 * one-shot schedule (created at run time by the routing Lambdas, not by this
 * stack: `at(expires_at)`, flexible window OFF, `ActionAfterCompletion:
 * DELETE`, retry policy, this DLQ) lives in this group; when it fires, the
 * Scheduler assumes this role to invoke the fallback function. Whatever cannot
 * be delivered lands in the DLQ, and one message there raises the alarm.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IDestination, IFunction } from 'aws-cdk-lib/aws-lambda';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeWildcardResource } from './nag';

export interface FallbackSchedulerProps {
  /** Name of the schedule group (`scheduleGroupName(stage)` from contract/naming.ts). */
  readonly scheduleGroupName: string;
  /** The functions the schedules invoke (`scheduleTargets` in contract/routes.ts): the priority fallback and the routing guard. */
  readonly targets: { readonly fallback: IFunction; readonly routingGuard: IFunction };
  /** Applies to the group and the DLQ. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class FallbackScheduler extends Construct {
  readonly group: ScheduleGroup;
  readonly targets: FallbackSchedulerProps['targets'];
  /** The role the Scheduler assumes: invoke the two targets, send to the DLQ, nothing else. */
  readonly role: Role;
  readonly deadLetterQueue: Queue;
  /** Fires as soon as one fallback could not be delivered. */
  readonly deadLetterAlarm: Alarm;
  /** `arn:…:scheduler:{region}:{account}:schedule/{group}/*`: every schedule of this group. */
  readonly scheduleArnPattern: string;

  constructor(scope: Construct, id: string, props: FallbackSchedulerProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const stack = Stack.of(this);
    this.targets = props.targets;

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
      'This queue is itself the dead-letter queue of the fallback schedules (and of the fallback function’s async invocations); a DLQ of a DLQ would only hide failures from the alarm.',
    );

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'A priority fallback could not be delivered: a customer request may be stuck in its priority window. Inspect the DLQ message and broadcast the request by hand.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.role = new Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler to run the priority fallback and the routing guard',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        // Confused-deputy guard: only schedules of this account may use the role.
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    const targets = [props.targets.fallback, props.targets.routingGuard];
    const qualifiedTargets = targets.map((target) => `${target.functionArn}:*`);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [...targets.map((target) => target.functionArn), ...qualifiedTargets] }),
    );
    this.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));
    for (const qualified of qualifiedTargets) {
      acknowledgeWildcardResource(
        this.role,
        qualified,
        'Only versions and aliases (:*) of one of the two schedule target functions, so a schedule may target a published alias; no other function is reachable.',
      );
    }

    // The Scheduler invokes the functions asynchronously: one that throws is
    // retried by Lambda, not by the Scheduler, and after the last attempt the
    // event would be dropped silently. Send it to the same DLQ so the alarm fires.
    for (const target of targets) {
      target.configureAsyncInvoke({
        retryAttempts: 2,
        onFailure: new ExactQueueDestination(this.deadLetterQueue),
      });
    }
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
