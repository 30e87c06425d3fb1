/**
 * The alarms the README's runbook explains (besides the DLQ alarm, which lives
 * with the queue): any handler error, the request timer or the fan-out
 * failing, and pushes failing in bulk. Bad input never makes a handler error
 * (it is a 4xx), so one error is worth a look. Alarm actions (SNS, chat) are left to each team's account.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/metrics';
import type { FunctionName } from '../../contract/routes';

export interface AlarmsProps {
  readonly functions: Readonly<Record<FunctionName, IFunction>>;
  /** The asynchronously invoked functions (`asyncTargets` in contract/routes.ts): each has its own, per-minute alarm. */
  readonly asyncTargets: { readonly timer: FunctionName; readonly fanOut: FunctionName };
  /** Push failures in 5 minutes that page someone. @default 25 */
  readonly pushFailureThreshold?: number;
}

export class Alarms extends Construct {
  /** Every function except the async targets. */
  readonly handlerErrors: Readonly<Partial<Record<FunctionName, Alarm>>>;
  readonly timerErrors: Alarm;
  readonly fanOutErrors: Alarm;
  readonly pushFailures: Alarm;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const asyncTargets = new Set<FunctionName>([props.asyncTargets.timer, props.asyncTargets.fanOut]);
    const handlerErrors: Partial<Record<FunctionName, Alarm>> = {};
    for (const [name, fn] of Object.entries(props.functions) as [FunctionName, IFunction][]) {
      if (asyncTargets.has(name)) continue;
      handlerErrors[name] = new Alarm(this, `${name}Errors`, {
        alarmDescription: `${name} threw (a 5xx, a failed WebSocket route or authorizer). Its log group has the "Unhandled error" line with the stack.`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    this.handlerErrors = handlerErrors;

    const asyncErrors = (id: string, name: FunctionName, alarmDescription: string) =>
      new Alarm(this, id, {
        alarmDescription,
        metric: props.functions[name].metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.timerErrors = asyncErrors(
      'TimerErrors',
      props.asyncTargets.timer,
      'The request timer threw: Lambda retries it twice, then the DLQ alarm follows. A request may be stuck: its routing unfinished, its priority window not ended or its expiry missed; see the runbook.',
    );
    this.fanOutErrors = asyncErrors(
      'FanOutErrors',
      props.asyncTargets.fanOut,
      'The fan-out threw: Lambda retries it twice, then the DLQ alarm follows. Mechanics may have missed a new request or a request_taken message; see the runbook.',
    );

    this.pushFailures = new Alarm(this, 'PushFailures', {
      alarmDescription: 'Many pushes to mechanics failed (not 410s, which just prune): the @connections API may be throttling or failing.',
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'PushFailures',
        dimensionsMap: { service: SERVICE_NAME },
        period: Duration.minutes(5),
        statistic: 'Sum',
      }),
      threshold: props.pushFailureThreshold ?? 25,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
