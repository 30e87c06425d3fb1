/**
 * The ops view's chart of the business metrics in a real browser (Debian's
 * Chromium via playwright-core): bookings made through the HTTP API, one of
 * them won by the favorite over WebSocket, then the ops view's chart reading
 * CloudWatch GetMetricData from the sandbox's AWS endpoint shows what the
 * functions counted. `SAVE_SCREENSHOTS=1` also writes docs/screenshots/ops-metrics.png.
 */
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { CHROMIUM, chromiumMissing, launchChromium, screenshot, WAIT } from './browser';
import { api, MechanicClient, startTestSandbox } from './clients';

// Under CI the browser is installed by .ci/run, so a missing one must fail there, not skip.
describe.skipIf(chromiumMissing && !process.env.CI)(
  chromiumMissing ? `ops view metrics chart (skipped: ${CHROMIUM} is missing; apt-get install chromium, as .ci/run does)` : 'ops view metrics chart',
  () => {
    let sandbox: Sandbox;
    let browser: Browser;

    beforeAll(async () => {
      sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: 300 });
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await sandbox?.stop();
    });

    const book = async (body: Record<string, unknown> = {}): Promise<string> => {
      const answer = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', {
        token: await sandbox.token({ sub: `customer-${randomUUID().slice(0, 8)}` }),
        body: { plan: 'free', concern: 'Battery warning light', ...body },
      });
      expect(answer.status).toBe(201);
      return answer.body.request_id;
    };

    it('shows the bookings made, the priority offer and the favorite’s win, as CloudWatch serves the functions’ metrics', async () => {
      // Arrange: three open bookings, and one for Alice as favorite, which she accepts
      const alice = await MechanicClient.connect(sandbox, 'mech-alice');
      for (let i = 0; i < 3; i++) await book();
      const requestId = await book({ preferred_mechanic_id: 'mech-alice', routing_type: 'priority_broadcast' });
      await alice.waitFor('priority_session_request', requestId);
      alice.accept(requestId);
      await alice.waitFor('accept_result', requestId);
      await alice.close();

      // Act
      const ops = await browser.newPage({ viewport: { width: 1100, height: 1100 } });
      await ops.goto(`${sandbox.consoleUrl}#ops`);

      // Assert: the window's totals (this minute's value depends on when the minute turned)
      const total = (name: string) => ops.getByTestId(`metrics-total-${name}`);
      await total('BookingsCreated').filter({ hasText: /^4$/ }).waitFor(WAIT);
      await total('FavoriteAccepted').filter({ hasText: /^1$/ }).waitFor(WAIT);
      expect(await total('OffersSent').textContent()).toBe('1');
      expect(await total('FallbacksFired').textContent()).toBe('0');
      expect(Number(await ops.getByTestId('metrics-latest-BookingsCreated').textContent())).toBeLessThanOrEqual(4);
      expect(await ops.getByTestId('metrics-time-to-match-p50').textContent()).toMatch(/^\d+(\.\d)? m?s$/);
      // The bookings' line leaves the baseline somewhere: its points are not all at the same height.
      const points = await ops.locator('polyline[data-metric="BookingsCreated"]').getAttribute('points');
      expect(new Set(points!.split(' ').map((point) => point.split(',')[1])).size).toBeGreaterThan(1);
      expect(await ops.getByTestId('metrics-error').textContent()).toBe('');
      await screenshot(ops, 'ops-metrics');
      await ops.close();
    });
  },
);
