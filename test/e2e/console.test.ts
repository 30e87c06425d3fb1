/**
 * The web console in a real browser: Debian's Chromium driven by
 * playwright-core against an in-process sandbox (free ports, a 5-second
 * window). Two mechanics and a customer, each in their own page, play the
 * favorite's lapse end to end through the console's own buttons.
 * `SAVE_SCREENSHOTS=1` also writes docs/screenshots/*.png (the README's);
 * without it the tracked files are left alone.
 */
import { existsSync } from 'node:fs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { eventually, startTestSandbox } from './clients';

const CHROMIUM = '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
/** Generous: a busy machine makes the browser slow, not the test wrong. */
const WAIT = { timeout: 60_000 };
const SCREENSHOTS = process.env.SAVE_SCREENSHOTS === '1' ? resolve(import.meta.dirname, '../../docs/screenshots') : undefined;

// Under CI the browser is installed by .ci/run, so a missing one must fail there, not skip.
describe.skipIf(missing && !process.env.CI)(
  missing ? `web console (skipped: ${CHROMIUM} is missing; apt-get install chromium, as .ci/run does)` : 'web console',
  () => {
    let sandbox: Sandbox;
    let browser: Browser;

    beforeAll(async () => {
      sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: 5 });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
      });
    });

    afterAll(async () => {
      await browser?.close();
      await sandbox?.stop();
    });

    const open = async (view: 'customer' | 'mechanic' | 'ops'): Promise<Page> => {
      const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
      await page.goto(`${sandbox.consoleUrl}#${view}`);
      return page;
    };

    const mechanic = async (id: string): Promise<Page> => {
      const page = await open('mechanic');
      await page.getByTestId('mechanic-select').selectOption(id);
      await page.getByTestId('mechanic-connect').click();
      await page
        .getByTestId('mechanic-connection')
        .filter({ hasText: `Connected as ${id}` })
        .waitFor(WAIT);
      return page;
    };

    const screenshot = async (page: Page, name: string): Promise<void> => {
      if (SCREENSHOTS) await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage: true });
    };

    it('is served on the HTTP port with the WebSocket API address written in', async () => {
      const html = await (await fetch(sandbox.consoleUrl)).text();

      expect(html).toContain(`"wsUrl":"${sandbox.wsUrl}"`);
      expect((await fetch(`${sandbox.consoleUrl}app.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
      expect((await fetch(`${sandbox.consoleUrl}nope.js`)).status).toBe(404);
    });

    it("books with a favorite, shows the favorite's countdown, lets it lapse and matches with the mechanic who took the fallback", async () => {
      // Arrange: Alice (the favorite) and Bob connected, each in their own page.
      const alice = await mechanic('mech-alice');
      const bob = await mechanic('mech-bob');
      const customer = await open('customer');

      // Act: the customer books with Alice as favorite 1, priority ticked (its default).
      await customer.getByTestId('customer-favorite-1').fill('mech-alice');
      await customer.getByTestId('customer-make').fill('Toyota');
      await customer.getByTestId('customer-model').fill('Corolla');
      await customer.getByTestId('customer-year').fill('2019');
      await customer.getByTestId('customer-book').click();

      // Assert: the customer sees Alice contacted with a countdown; Alice has the exclusive offer, Bob nothing.
      const status = customer.getByTestId('booking-status');
      await status.filter({ hasText: /Contacting mech-alice \(favorite 1 of 1\) — 0:0\d left/ }).waitFor(WAIT);
      const aliceOffer = alice.locator('[data-testid="offer"][data-kind="priority"]');
      await aliceOffer.waitFor(WAIT);
      const countdown = aliceOffer.getByTestId('offer-countdown');
      const first = await countdown.textContent();
      expect(first).toMatch(/^0:0\d left$/);
      expect(await bob.getByTestId('offer').count()).toBe(0);
      await screenshot(customer, 'customer');
      await screenshot(alice, 'mechanic');
      // The countdown is live: it moves without any new message.
      await eventually(async () => (await countdown.textContent()) !== first, "the favorite's countdown to move");

      // The window lapses: the request opens to everyone, Bob included.
      const bobOffer = bob.locator('[data-testid="offer"][data-kind="open"]');
      await bobOffer.waitFor(WAIT);
      await status.filter({ hasText: /Open to everyone — expires in \d+:\d\d/ }).waitFor(WAIT);
      await alice.locator('[data-testid="offer"][data-kind="open"]').waitFor(WAIT);
      await screenshot(bob, 'mechanic-open');

      // Bob accepts: he wins it, Alice's offer goes, the customer is matched with Bob.
      await bobOffer.getByTestId('offer-accept').click();
      await bob
        .getByTestId('mechanic-result')
        .filter({ hasText: /^Accepted: req-.+ is yours$/ })
        .waitFor(WAIT);
      await status.filter({ hasText: 'Matched with mech-bob' }).waitFor(WAIT);
      await alice.getByTestId('offer').waitFor({ ...WAIT, state: 'detached' });
      expect(await customer.getByTestId('booking-cancel').isHidden()).toBe(true);
      await screenshot(customer, 'customer-matched');
    });

    it('cancels a booking from the customer page, and the mechanic who was offered it loses the offer', async () => {
      const carol = await mechanic('mech-carol');
      const customer = await open('customer');
      await customer.getByTestId('customer-id').fill('customer-console-cancel');
      await customer.getByTestId('customer-priority').uncheck();
      await customer.getByTestId('customer-book').click();
      await carol.getByTestId('offer').waitFor(WAIT);

      await customer.getByTestId('booking-cancel').click();

      await customer.getByTestId('booking-status').filter({ hasText: 'Cancelled' }).waitFor(WAIT);
      await carol.getByTestId('offer').waitFor({ ...WAIT, state: 'detached' });
    });

    it('pauses and resumes a mechanic, every connection of theirs showing it, and a new connection learning it from sync', async () => {
      const erin = await mechanic('mech-erin');
      const erinElsewhere = await mechanic('mech-erin');
      await erin.getByTestId('mechanic-availability').filter({ hasText: 'Available' }).waitFor(WAIT);

      await erin.getByTestId('mechanic-pause').click();
      await erinElsewhere.getByTestId('mechanic-availability').filter({ hasText: 'Paused' }).waitFor(WAIT);
      const erinLater = await mechanic('mech-erin');
      await erinLater.getByTestId('mechanic-availability').filter({ hasText: 'Paused' }).waitFor(WAIT);
      await erin.getByTestId('mechanic-resume').click();

      await erinElsewhere.getByTestId('mechanic-availability').filter({ hasText: 'Available' }).waitFor(WAIT);
    });

    it("shows a pending request's timer and flips the flag in SSM, as ops would with the AWS CLI", async () => {
      const ssm = new SSMClient({ endpoint: sandbox.awsUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const flag = async () => (await ssm.send(new GetParameterCommand({ Name: sandbox.flagParameterName }))).Parameter?.Value;
      const customer = await open('customer');
      await customer.getByTestId('customer-id').fill('customer-console-ops');
      await customer.getByTestId('customer-book').click();
      const sessionId = await customer.getByTestId('booking').getAttribute('data-session-id', WAIT);
      const ops = await open('ops');

      await ops
        .getByTestId('ops-flag')
        .filter({ hasText: /^true$/ })
        .waitFor(WAIT);
      await ops.locator(`[data-testid="ops-timer"][data-name="timer-req-${sessionId}"]`).waitFor(WAIT);
      await ops.getByTestId('ops-dead-letters').filter({ hasText: /^0$/ }).waitFor(WAIT);
      await screenshot(ops, 'ops');
      await ops.getByTestId('ops-flag-off').click();

      await ops
        .getByTestId('ops-flag')
        .filter({ hasText: /^false$/ })
        .waitFor(WAIT);
      expect(await flag()).toBe('false');
      await ops.getByTestId('ops-flag-on').click();
      await ops
        .getByTestId('ops-flag')
        .filter({ hasText: /^true$/ })
        .waitFor(WAIT);
      expect(await flag()).toBe('true');
    });

    it('connects its WebSockets with single-use tickets, never a token in the URL', async () => {
      const page = await open('mechanic');
      const urls: string[] = [];
      page.on('websocket', (socket) => urls.push(socket.url()));
      await page.getByTestId('mechanic-select').selectOption('mech-carol');
      await page.getByTestId('mechanic-connect').click();
      await page.getByTestId('mechanic-connection').filter({ hasText: 'Connected as mech-carol' }).waitFor(WAIT);

      expect(urls).toEqual([expect.stringMatching(/\?ticket=[A-Za-z0-9_-]{43}$/)]);
      expect(sandbox.logs.some((line) => line.includes('[ticket] Connect ticket issued') && line.includes('mech-carol'))).toBe(true);
    });
  },
);
