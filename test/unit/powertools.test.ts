/**
 * The observability contract the alarms, dashboards and ops rely on, as
 * Powertools writes it: one JSON line per log entry with the Lambda context,
 * cold start and the invocation's correlation id; the business metrics as
 * Embedded Metric Format in the PriorityDispatch namespace with the one
 * `service` dimension; the cold-start metric once per container; metrics
 * published even when the handler throws.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../contract/metrics';
import { loggerPort, metricsPort, observer } from '../../lambdas/adapters/powertools';
import { lambdaContext } from '../../sandbox/lambda-context';

interface Written {
  stream: 'stdout' | 'stderr';
  entry: Record<string, any>;
}

let written: Written[];

beforeEach(() => {
  // What the Lambda runtime sets in an on-demand execution environment; Powertools counts cold starts only there.
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
  written = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    vi.spyOn(process[stream], 'write').mockImplementation(((chunk: string | Uint8Array) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      for (const line of text.split('\n').filter(Boolean)) written.push({ stream, entry: JSON.parse(line) });
      return true;
    }) as typeof process.stdout.write);
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const FUNCTION_NAME = 'priority-dispatch-test-intakeStart';
const context = (awsRequestId: string) =>
  lambdaContext({ functionName: FUNCTION_NAME, functionArn: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`, awsRequestId });

/** A fresh "container": Logger and Metrics as lambdas/wiring/index.ts builds them. */
function container() {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  return { log: loggerPort(logger), metrics: metricsPort(metrics), observe: observer(logger, metrics) };
}

const logLines = () => written.filter((w) => !('_aws' in w.entry));
const emfLines = () => written.filter((w) => '_aws' in w.entry).map((w) => w.entry);

describe('Powertools behind the Logger and Metrics ports', () => {
  it('writes each entry as one JSON line with the Lambda context, cold start and the correlation id of its invocation', async () => {
    // Arrange
    const { log, observe } = container();
    const handler = observe(
      (event: { id: string }) => event.id,
      async (event: { id: string }) => {
        log.info('[Priority] Favorite mechanic requested', { mechanic_id: 'mech-alice' });
        log.warn('[Flag] Could not read the feature flag; treating priority as off', { request: event.id });
      },
    );

    // Act
    await handler({ id: 'corr-1' }, context('req-1'));
    await handler({ id: 'corr-2' }, context('req-2'));

    // Assert
    const lines = logLines();
    expect(lines.map((l) => [l.stream, l.entry.level, l.entry.correlation_id, l.entry.cold_start])).toEqual([
      ['stdout', 'INFO', 'corr-1', true],
      ['stderr', 'WARN', 'corr-1', true],
      ['stdout', 'INFO', 'corr-2', false],
      ['stderr', 'WARN', 'corr-2', false],
    ]);
    expect(lines[0]!.entry).toMatchObject({
      message: '[Priority] Favorite mechanic requested',
      mechanic_id: 'mech-alice',
      service: SERVICE_NAME,
      function_name: 'priority-dispatch-test-intakeStart',
      function_request_id: 'req-1',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('drops the correlation id when the invocation ends, so the next one without an id does not inherit it', async () => {
    // Arrange
    const { log, observe } = container();
    const handler = observe(
      (event: { id?: string }) => event.id,
      async () => log.info('work'),
    );

    // Act
    await handler({ id: 'corr-1' }, context('req-1'));
    await handler({}, context('req-2'));

    // Assert
    expect(logLines().map((l) => l.entry.correlation_id)).toEqual(['corr-1', undefined]);
  });

  it('takes its level from POWERTOOLS_LOG_LEVEL', async () => {
    // Arrange
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
    const { log, observe } = container();

    // Act
    await observe(
      () => undefined,
      async () => {
        log.info('not written');
        log.error('written');
      },
    )({}, context('req-1'));

    // Assert
    expect(logLines().map((l) => l.entry.message)).toEqual(['written']);
  });

  it('publishes the counted and measured metrics as EMF in the PriorityDispatch namespace with the service dimension, once per invocation', async () => {
    // Arrange
    const { metrics, observe } = container();
    const handler = observe(
      () => undefined,
      async () => {
        metrics.count('FallbacksFired');
        metrics.count('BroadcastsDelivered', 3);
        metrics.count('BroadcastsDelivered', 2);
        metrics.milliseconds('TimeToMatchMs', 4250);
      },
    );

    // Act
    await handler({}, context('req-1'));

    // Assert: the cold-start metric (its own line, with the function) and the business metrics
    const [coldStart, business, ...more] = emfLines();
    expect(more).toEqual([]);
    expect(coldStart).toMatchObject({
      _aws: {
        CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'function_name']], Metrics: [{ Name: 'ColdStart', Unit: 'Count' }] }],
      },
      service: SERVICE_NAME,
      function_name: 'priority-dispatch-test-intakeStart',
      ColdStart: 1,
    });
    expect(business).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [['service']],
            Metrics: [
              { Name: 'FallbacksFired', Unit: 'Count' },
              { Name: 'BroadcastsDelivered', Unit: 'Count' },
              { Name: 'TimeToMatchMs', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      service: SERVICE_NAME,
      FallbacksFired: 1,
      BroadcastsDelivered: [3, 2],
      TimeToMatchMs: 4250,
    });
  });

  it('counts the cold start once per container and writes nothing for an invocation that counted nothing', async () => {
    // Arrange
    const { observe } = container();
    const handler = observe(
      () => undefined,
      async () => undefined,
    );

    // Act
    await handler({}, context('req-1'));
    await handler({}, context('req-2'));

    // Assert: no "No application metrics to publish" warning either
    expect(emfLines().map((e) => Object.keys(e).filter((k) => /^[A-Z]/.test(k)))).toEqual([['ColdStart']]);
    expect(logLines()).toEqual([]);
  });

  it('still publishes what was counted when the handler throws', async () => {
    // Arrange
    const { metrics, observe } = container();
    const handler = observe(
      () => undefined,
      async () => {
        metrics.count('PushFailures');
        throw new Error('boom');
      },
    );

    // Act
    const outcome = handler({}, context('req-1'));

    // Assert
    await expect(outcome).rejects.toThrow('boom');
    expect(emfLines().some((e) => e.PushFailures === 1)).toBe(true);
  });
});
