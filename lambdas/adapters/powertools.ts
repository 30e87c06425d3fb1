/**
 * Powertools for AWS Lambda (TypeScript) behind the project's ports: Logger
 * writes one JSON line per entry with the Lambda context, cold start and
 * correlation id (level from POWERTOOLS_LOG_LEVEL); Metrics counts business
 * events as CloudWatch Embedded Metric Format. `observer` wraps a handler so
 * each invocation's lines carry its context and correlation id, the cold-start
 * metric is counted once per container, and what the invocation counted is
 * published when it ends, thrown or not.
 */
import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { MetricName } from '../../contract/metrics';
import type { LogFields, Logger, Metrics } from '../ports';

export const loggerPort = (logger: PowertoolsLogger): Logger => ({
  info: (message: string, fields: LogFields = {}) => logger.info(message, fields),
  warn: (message: string, fields: LogFields = {}) => logger.warn(message, fields),
  error: (message: string, fields: LogFields = {}) => logger.error(message, fields),
});

export const metricsPort = (metrics: PowertoolsMetrics): Metrics => ({
  count: (name: MetricName, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
  milliseconds: (name: MetricName, value: number) => metrics.addMetric(name, MetricUnit.Milliseconds, value),
});

/** A Lambda handler; `context` is what the Lambda runtime passes (tests may leave it out). */
export type ObservedHandler<E, R> = (event: E, context?: Context) => Promise<R>;

/** Where an invocation's correlation id comes from: the HTTP request, the WebSocket message or the schedule's input. */
export type CorrelationIdOf<E> = (event: E) => string | undefined;

export function observer(logger: PowertoolsLogger, metrics: PowertoolsMetrics) {
  return <E, R>(correlationIdOf: CorrelationIdOf<E>, run: (event: E) => Promise<R>): ObservedHandler<E, R> =>
    async (event, context) => {
      if (context) logger.addContext(context);
      const correlationId = correlationIdOf(event);
      if (correlationId) logger.setCorrelationId(correlationId);
      metrics.captureColdStartMetric(context?.functionName);
      try {
        return await run(event);
      } finally {
        // Publishing with nothing stored only prints Powertools' "no metrics" warning.
        if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
        logger.resetKeys();
      }
    };
}
