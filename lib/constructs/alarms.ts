/**
 * The alarms the README's runbook explains (besides the DLQ alarm, which lives
 * with the queue): any handler error, the fallback failing, and pushes failing
 * in bulk. Bad input never makes a handler error (it is a 4xx), so one error
 * is worth a look. Alarm actions (SNS, chat) are left to each team's account.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/metrics';
import type { FunctionName } from '../../contract/routes';

export interface AlarmsProps {
  readonly functions: Readonly<Record<FunctionName, IFunction>>;
  readonly fallbackFunction: FunctionName;
  /** Push failures in 5 minutes that page someone. @default 25 */
  readonly pushFailureThreshold?: number;
}

export class Alarms extends Construct {
  readonly handlerErrors: Readonly<Record<FunctionName, Alarm>>;
  readonly fallbackErrors: Alarm;
  readonly pushFailures: Alarm;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const handlerErrors = {} as Record<FunctionName, Alarm>;
    for (const [name, fn] of Object.entries(props.functions) as [FunctionName, IFunction][]) {
      if (name === props.fallbackFunction) continue;
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

    this.fallbackErrors = new Alarm(this, 'FallbackErrors', {
      alarmDescription:
        'The priority fallback threw: Lambda retries it twice, then the DLQ alarm follows. A request may be waiting past its priority window; see the runbook.',
      metric: props.functions[props.fallbackFunction].metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

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
