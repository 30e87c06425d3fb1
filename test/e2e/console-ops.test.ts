/**
 * The web console's ops view in a real browser (Debian's Chromium via playwright-core) against an in-process
 * sandbox: the settings in effect read from the intake function's environment (Lambda
 * GetFunctionConfiguration), a priority request listed while its favorite holds it and gone once accepted,
 * and the connected mechanics with their connections and availability (DynamoDB). Mechanics and the
 * customer are real `ws` clients and HTTP calls; the page only watches, as an operator would.
 * `SAVE_SCREENSHOTS=1` also writes docs/screenshots/ops.png (the README's).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { chromiumMissing, CHROMIUM, launchChromium, screenshot, WAIT } from './browser';
import { api, eventually, MechanicClient, startTestSandbox } from './clients';

/** Long enough that no window lapses while the test watches it; not the default, so the page must read it. */
const PRIORITY_WINDOW_SECONDS = 300;
const FLAG_CACHE_TTL_SECONDS = 4;

// Under CI the browser is installed by .ci/run, so a missing one must fail there, not skip.
describe.skipIf(chromiumMissing && !process.env.CI)(
  chromiumMissing ? `web console ops view (skipped: ${CHROMIUM} is missing; apt-get install chromium, as .ci/run does)` : 'web console ops view',
  () => {
    let sandbox: Sandbox;
    let browser: Browser;
    let ops: Page;
    const clients: MechanicClient[] = [];

    beforeAll(async () => {
      sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: PRIORITY_WINDOW_SECONDS, flagCacheTtlSeconds: FLAG_CACHE_TTL_SECONDS });
      browser = await launchChromium();
      ops = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await ops.goto(`${sandbox.consoleUrl}#ops`);
    });

    afterAll(async () => {
      await Promise.all(clients.map((client) => client.close()));
      await browser?.close();
      await sandbox?.stop();
    });

    const connect = async (id: string, options: { role?: 'customer' } = {}): Promise<MechanicClient> => {
      const client = await MechanicClient.connect(sandbox, id, options);
      clients.push(client);
      return client;
    };
    const pendingRow = (sessionId: string) => ops.locator(`[data-testid="ops-pending"][data-session-id="${sessionId}"]`);
    const mechanicRow = (mechanicId: string) => ops.locator(`[data-testid="ops-mechanic"][data-mechanic-id="${mechanicId}"]`);

    it("shows the priority window and the flag cache TTL in effect, from the intake function's environment", async () => {
      await ops.getByTestId('ops-priority-window').filter({ hasText: '5 min (300 s)' }).waitFor(WAIT);
      await ops.getByTestId('ops-flag-cache-ttl').filter({ hasText: /^4 s$/ }).waitFor(WAIT);
      expect(await ops.getByText(`${sandbox.stage}-intakeStart`).count()).toBeGreaterThan(0);
    });

    it('lists a priority request with its favorite and a live countdown, the connected mechanics and who paused, until it is accepted', async () => {
      // Arrange: Alice (the favorite) on two devices, Bob on one, and the customer watching their bookings.
      const alice = await connect('mech-alice');
      await connect('mech-alice');
      const bob = await connect('mech-bob');
      await connect('customer-ops-view', { role: 'customer' });

      // Act: a priority booking through the HTTP API, Alice first and Bob second.
      const booked = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
        token: await sandbox.token({ sub: 'customer-ops-view' }),
        body: { plan: 'free', concern: 'Brakes squeal', preferred_mechanic_ids: ['mech-alice', 'mech-bob'], routing_type: 'priority_broadcast' },
      });
      expect(booked.status).toBe(201);
      const { session_id: sessionId, request_id: requestId } = booked.body;
      await alice.waitFor('priority_session_request', requestId);

      // Assert: offered to Alice, favorite 1 of 2, counting down from the 5-minute window.
      const row = pendingRow(sessionId);
      await row.and(ops.locator('[data-state="offered"]')).waitFor(WAIT);
      expect(await row.getByTestId('ops-pending-audience').textContent()).toBe('mech-alice (favorite 1 of 2)');
      const countdown = row.getByTestId('ops-pending-countdown');
      const first = await eventually(async () => /^[45]:\d\d$/.exec((await countdown.textContent()) ?? '')?.[0], 'a countdown inside the window');
      await eventually(async () => (await countdown.textContent()) !== first, 'the countdown to move');

      // The mechanics, with their connections; the customer's connection counted apart.
      await mechanicRow('mech-alice').getByTestId('ops-mechanic-connections').filter({ hasText: /^2$/ }).waitFor(WAIT);
      await mechanicRow('mech-bob').getByTestId('ops-mechanic-connections').filter({ hasText: /^1$/ }).waitFor(WAIT);
      expect(await mechanicRow('customer-ops-view').count()).toBe(0);
      await ops.getByTestId('ops-customer-connections').filter({ hasText: /^1$/ }).waitFor(WAIT);

      // Bob pauses: shown paused, Alice still available.
      bob.send({ action: 'pause' });
      await bob.waitFor('availability');
      await mechanicRow('mech-bob').and(ops.locator('[data-paused="true"]')).waitFor(WAIT);
      expect(await mechanicRow('mech-bob').getByTestId('ops-mechanic-availability').textContent()).toBe('paused');
      expect(await mechanicRow('mech-alice').getByTestId('ops-mechanic-availability').textContent()).toBe('available');
      await screenshot(ops, 'ops');

      // Alice accepts: the request is no longer pending.
      alice.accept(requestId);
      expect(await alice.waitFor('accept_result', requestId)).toMatchObject({ ok: true });
      await row.waitFor({ ...WAIT, state: 'detached' });
    });
  },
);
