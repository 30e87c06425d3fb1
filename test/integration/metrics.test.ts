/**
 * The operability metrics (offers sent, offers accepted, fallbacks fired,
 * broadcasts delivered, stale connections pruned, push failures) leave as
 * CloudWatch Embedded Metric Format on the log lines of the same events.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE } from '../../contract/metrics';
import { acceptRequest } from '../../lambdas/use-cases/accept-request';
import { runFallback } from '../../lambdas/use-cases/run-fallback';
import { startIntake } from '../../lambdas/use-cases/sessions';
import { createHarness, type Harness, type LogLine } from '../support/deps';
import { createTestTable } from '../support/table';

let h: Harness;
beforeEach(async () => {
  h = await createHarness(await createTestTable());
});
afterEach(() => h.close());

/** Sum of a metric over the EMF lines that declare it, as CloudWatch would extract it. */
function metricTotal(logs: LogLine[], name: string): number {
  return logs
    .filter((line) => {
      const emf = line.fields._aws as
        | { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] }
        | undefined;
      return emf?.CloudWatchMetrics?.some((d) => d.Namespace === METRICS_NAMESPACE && d.Metrics.some((m) => m.Name === name && m.Unit === 'Count'));
    })
    .reduce((sum, line) => sum + Number(line.fields[name]), 0);
}

describe('embedded metrics', () => {
  it('count offers, fallbacks, deliveries, prunes and acceptances', async () => {
    // Arrange
    await h.setFlag('true');
    const favorite = await h.addMechanic();
    const others = [await h.addMechanic(), await h.addMechanic()];
    const stale = await h.addMechanic();
    await h.goneConnection(stale.connectionIds[0]!);
    const booking = {
      plan: 'free' as const,
      concern: 'Squeak',
      vehicle: null,
      preferred_mechanic_id: favorite.mechanicId,
      routing_type: 'priority_broadcast' as const,
      workshop_id: null,
    };

    // Act
    const answer = await startIntake(h.deps, { customerId: 'cust-metrics', booking });
    h.clock.advance(h.priorityWindowSeconds);
    await runFallback(h.deps, { requestId: answer.request_id!, reason: 'preferred_mechanic_no_response' });
    await acceptRequest(h.deps, { requestId: answer.request_id!, mechanicId: others[0]!.mechanicId, connectionId: others[0]!.connectionIds[0]! });

    // Assert
    expect(metricTotal(h.logs, 'OffersSent')).toBe(1);
    expect(metricTotal(h.logs, 'FallbacksFired')).toBe(1);
    expect(metricTotal(h.logs, 'BroadcastsDelivered')).toBe(3); // favorite + two others; the stale one is gone
    expect(metricTotal(h.logs, 'StaleConnectionsPruned')).toBe(1);
    expect(metricTotal(h.logs, 'OffersAccepted')).toBe(1);
    expect(metricTotal(h.logs, 'PushFailures')).toBe(0);
    const line = h.logs.find((l) => l.message === '[Fallback] Broadcast delivered')!;
    expect(line.fields._aws).toEqual({
      Timestamp: h.clock.now().getTime(),
      CloudWatchMetrics: [
        {
          Namespace: 'PriorityDispatch',
          Dimensions: [['service']],
          Metrics: [
            { Name: 'FallbacksFired', Unit: 'Count' },
            { Name: 'BroadcastsDelivered', Unit: 'Count' },
          ],
        },
      ],
    });
  });

  it('count push failures where they happen', async () => {
    const broken = await h.addMechanic();
    await h.addMechanic();
    h.brokenConnection(broken.connectionIds[0]!);

    await startIntake(h.deps, {
      customerId: 'cust-metrics-2',
      booking: { plan: 'free', concern: 'Knock', vehicle: null, preferred_mechanic_id: null, routing_type: null, workshop_id: null },
    });

    expect(metricTotal(h.logs, 'PushFailures')).toBe(1);
    expect(metricTotal(h.logs, 'BroadcastsDelivered')).toBe(1);
  });
});
