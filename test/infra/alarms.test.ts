/** The alarms the runbook names: per-handler errors, fallback errors, bulk push failures (the DLQ alarm is in stack.test.ts). */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { functions, scheduleTargets, type FunctionName } from '../../contract/routes';
import { buildStack, logicalId } from './synth-helpers';

const { stack, template } = buildStack();

describe('alarms', () => {
  it('one error alarm per handler, on its own Errors metric', () => {
    const handlers = (Object.keys(functions) as FunctionName[]).filter((name) => name !== scheduleTargets.fallback);
    for (const name of handlers) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.functions[name].function) } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    expect(Object.keys(stack.alarms.handlerErrors).sort()).toEqual(handlers.sort());
  });

  it('the fallback has its own error alarm, per minute', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('priority fallback threw'),
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.functions[scheduleTargets.fallback].function) } }],
      Period: 60,
      Threshold: 1,
    });
  });

  it('bulk push failures alarm on the embedded metric the handlers emit', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'PriorityDispatch',
      MetricName: 'PushFailures',
      Dimensions: [{ Name: 'service', Value: 'priority-dispatch' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 25,
    });
  });

  it('every alarm says what it means', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmDescription?: string } }[];
    expect(alarms.length).toBe(Object.keys(functions).length - 1 + 3);
    for (const alarm of alarms) expect(alarm.Properties.AlarmDescription?.length ?? 0).toBeGreaterThan(40);
  });
});
