/** The alarms the runbook names: per-handler errors, timer and fan-out errors, bulk push failures (the DLQ alarm is in stack.test.ts). */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { asyncTargets, functions, type FunctionName, isAsyncTarget } from '../../contract/routes';
import { buildStack, logicalId } from './synth-helpers';

const { stack, template } = buildStack();

describe('alarms', () => {
  it('one error alarm per handler, on its own Errors metric', () => {
    const handlers = (Object.keys(functions) as FunctionName[]).filter((name) => !isAsyncTarget(name));
    expect(handlers).toHaveLength(Object.keys(functions).length - 2);
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

  it.each([
    ['timer', 'request timer threw'],
    ['fanOut', 'fan-out threw'],
  ] as const)('the %s function has its own error alarm, per minute', (target, description) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp(description),
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.functions[asyncTargets[target]].function) } }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('the async targets have one error alarm each, not a handler alarm too', () => {
    for (const name of Object.values(asyncTargets)) {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
        (alarm) => alarm.Properties.MetricName === 'Errors' && alarm.Properties.Dimensions[0].Value.Ref === logicalId(stack.functions[name].function),
      );
      expect(alarms, name).toHaveLength(1);
    }
    expect(stack.alarms.timerErrors).toBeDefined();
    expect(stack.alarms.fanOutErrors).toBeDefined();
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
    // A handler alarm per API function, the timer's and the fan-out's, bulk push failures, and the DLQ alarm.
    expect(alarms.length).toBe(Object.keys(functions).length - 2 + 2 + 1 + 1);
    for (const alarm of alarms) expect(alarm.Properties.AlarmDescription?.length ?? 0).toBeGreaterThan(40);
  });
});
