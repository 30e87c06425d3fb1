/**
 * Small in-memory implementations of the ports, for the unit tier (use cases
 * without dynalite, sockets or child processes) and wherever a test only
 * needs to see what a use case asked of a port.
 */
import type { MetricName } from '../../contract/metrics';
import type { Metrics } from '../../lambdas/ports';

/** What the use cases counted, summed per metric as CloudWatch would. */
export class RecordingMetrics implements Metrics {
  readonly counted: { name: MetricName; value: number }[] = [];

  count(name: MetricName, value = 1): void {
    this.counted.push({ name, value });
  }

  total(name: MetricName): number {
    return this.counted.filter((c) => c.name === name).reduce((sum, c) => sum + c.value, 0);
  }
}
