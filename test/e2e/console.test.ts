/**
 * The web console in a real browser: Debian's Chromium driven by
 * playwright-core against in-process sandboxes (free ports). Mechanics and
 * customers, each in their own page, play the flow through the console's own
 * buttons: with a 5-second window, the favorite's lapse, cancel, pause, ops,
 * checkout and sync after a dropped connection or a reload; with a 10-minute
 * window and a 20-second request TTL, a pasted token, declines and expiry.
 * `SAVE_SCREENSHOTS=1` also writes docs/screenshots/*.png (the README's);
 * without it the tracked files are left alone.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_SHARDS } from '../../contract/table-schema';
import { requestIdFor } from '../../lambdas/domain/ids';
import type { Sandbox } from '../../sandbox/index';
import { CHROMIUM, chromiumMissing as missing, launchChromium, screenshot, WAIT } from './browser';
import { armFault, awsClientConfig, clearFaults, connectionIdsOf, eventually, registerMechanic, startTestSandbox } from './clients';

// Under CI the browser is installed by .ci/run, so a missing one must fail there, not skip.
describe.skipIf(missing && !process.env.CI)(
  missing ? `web console (skipped: ${CHROMIUM} is missing; apt-get install chromium, as .ci/run does)` : 'web console',
  () => {
    let browser: Browser;
    /** This test's pages, closed after it (their sockets with them), so a later broadcast reaches only the next test's. */
    const pages: Page[] = [];

    beforeAll(async () => {
      browser = await launchChromium();
    });

    afterEach(async () => {
      await Promise.all(pages.splice(0).map((page) => page.close()));
    });

    afterAll(async () => {
      await browser?.close();
    });

    /** A page of its own (its own context, so its own sessionStorage) on one view. */
    const open = async (sandbox: Sandbox, view: 'customer' | 'mechanic' | 'ops'): Promise<Page> => {
      const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
      pages.push(page);
      await page.goto(`${sandbox.consoleUrl}#${view}`);
      return page;
    };

    const connected = (page: Page, who: string) =>
      page
        .getByTestId('mechanic-connection')
        .filter({ hasText: `Connected as ${who}` })
        .waitFor(WAIT);

    /** A mechanic page connected as one of the demo mechanics picked in the list. */
    const mechanic = async (sandbox: Sandbox, id: string): Promise<Page> => {
      const page = await open(sandbox, 'mechanic');
      await page.getByTestId('mechanic-select').selectOption(id);
      await page.getByTestId('mechanic-connect').click();
      await connected(page, id);
      return page;
    };

    /** A mechanic page connected with a pasted token, got from `POST /dev/token` as a developer gets one with curl. */
    const mechanicWithToken = async (sandbox: Sandbox, id: string): Promise<{ page: Page; token: string }> => {
      const response = await fetch(`${sandbox.httpUrl}/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sub: id }),
      });
      const { token } = (await response.json()) as { token: string };
      const page = await open(sandbox, 'mechanic');
      await page.getByTestId('mechanic-token').fill(token);
      await page.getByTestId('mechanic-connect').click();
      await connected(page, id);
      return { page, token };
    };

    /** A customer page as a customer of this test's own (their open bookings are capped), booking without priority unless told. */
    const customerPage = async (sandbox: Sandbox, id: string, options: { priority?: boolean } = {}): Promise<Page> => {
      const page = await open(sandbox, 'customer');
      // Leaving the field (its change event) connects as that customer, as typing an id and tabbing on would.
      await page.getByTestId('customer-id').fill(id);
      await page.getByTestId('customer-id').blur();
      await page
        .getByTestId('customer-connection')
        .filter({ hasText: `Connected as ${id}` })
        .waitFor(WAIT);
      if (!options.priority) await page.getByTestId('customer-priority').uncheck();
      return page;
    };

    /** Books with what the form holds and returns the new booking's session id (the list's newest card). */
    const book = async (customer: Page, concern: string): Promise<string> => {
      const before = await customer.getByTestId('booking').count();
      await customer.getByTestId('customer-concern').fill(concern);
      await customer.getByTestId('customer-book').click();
      await eventually(async () => (await customer.getByTestId('booking').count()) > before, 'the booking to be listed');
      return (await customer.getByTestId('booking').first().getAttribute('data-session-id'))!;
    };

    const bookingStatus = (customer: Page, sessionId: string) => customer.locator(`[data-session-id="${sessionId}"] [data-testid="booking-status"]`);

    describe('with a 5-second window', () => {
      let sandbox: Sandbox;

      beforeAll(async () => {
        sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: 5 });
      });

      afterAll(async () => {
        await sandbox?.stop();
      });

      it('is served on the HTTP port with the WebSocket API address written in', async () => {
        const html = await (await fetch(sandbox.consoleUrl)).text();

        expect(html).toContain(`"wsUrl":"${sandbox.wsUrl}"`);
        expect((await fetch(`${sandbox.consoleUrl}app.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
        expect((await fetch(`${sandbox.consoleUrl}nope.js`)).status).toBe(404);
      });

      it("books with a favorite, shows the favorite's countdown, lets it lapse and matches with the mechanic who took the fallback", async () => {
        // Arrange: Alice (the favorite) and Bob connected, each in their own page.
        const alice = await mechanic(sandbox, 'mech-alice');
        const bob = await mechanic(sandbox, 'mech-bob');
        const customer = await open(sandbox, 'customer');

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
        const carol = await mechanic(sandbox, 'mech-carol');
        const customer = await open(sandbox, 'customer');
        await customer.getByTestId('customer-id').fill('customer-console-cancel');
        await customer.getByTestId('customer-priority').uncheck();
        await customer.getByTestId('customer-book').click();
        await carol.getByTestId('offer').waitFor(WAIT);

        await customer.getByTestId('booking-cancel').click();

        await customer.getByTestId('booking-status').filter({ hasText: 'Cancelled' }).waitFor(WAIT);
        await carol.getByTestId('offer').waitFor({ ...WAIT, state: 'detached' });
      });

      it('pauses and resumes a mechanic, every connection of theirs showing it, and a new connection learning it from sync', async () => {
        const erin = await mechanic(sandbox, 'mech-erin');
        const erinElsewhere = await mechanic(sandbox, 'mech-erin');
        await erin.getByTestId('mechanic-availability').filter({ hasText: 'Available' }).waitFor(WAIT);

        await erin.getByTestId('mechanic-pause').click();
        await erinElsewhere.getByTestId('mechanic-availability').filter({ hasText: 'Paused' }).waitFor(WAIT);
        const erinLater = await mechanic(sandbox, 'mech-erin');
        await erinLater.getByTestId('mechanic-availability').filter({ hasText: 'Paused' }).waitFor(WAIT);
        await erin.getByTestId('mechanic-resume').click();

        await erinElsewhere.getByTestId('mechanic-availability').filter({ hasText: 'Available' }).waitFor(WAIT);
      });

      it("shows a pending request's timer and flips the flag in SSM, as ops would with the AWS CLI", async () => {
        const ssm = new SSMClient({ endpoint: sandbox.awsUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
        const flag = async () => (await ssm.send(new GetParameterCommand({ Name: sandbox.flagParameterName }))).Parameter?.Value;
        const customer = await open(sandbox, 'customer');
        await customer.getByTestId('customer-id').fill('customer-console-ops');
        await customer.getByTestId('customer-book').click();
        const sessionId = await customer.getByTestId('booking').getAttribute('data-session-id', WAIT);
        const ops = await open(sandbox, 'ops');

        await ops
          .getByTestId('ops-flag')
          .filter({ hasText: /^true$/ })
          .waitFor(WAIT);
        await ops.locator(`[data-testid="ops-timer"][data-name="timer-req-${sessionId}"]`).waitFor(WAIT);
        await ops.getByTestId('ops-dead-letters').filter({ hasText: /^0$/ }).waitFor(WAIT);
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

      it('completes the checkout of a paid booking from the customer page, and the booking is routed', async () => {
        // Arrange: a paid booking waits for its checkout.
        const customer = await customerPage(sandbox, 'customer-console-checkout');
        await customer.getByTestId('customer-plan').selectOption('paid');
        const sessionId = await book(customer, 'Battery drains overnight');
        const card = customer.locator(`[data-session-id="${sessionId}"]`);
        await bookingStatus(customer, sessionId).filter({ hasText: 'Awaiting checkout' }).waitFor(WAIT);
        await screenshot(customer, 'customer-checkout');

        // Act
        await card.getByTestId('booking-checkout').click();

        // Assert: routed (no favorite: open to everyone), and the button has done its job.
        await bookingStatus(customer, sessionId)
          .filter({ hasText: /^Open to everyone — expires in \d+:\d\d$/ })
          .waitFor(WAIT);
        await card.getByTestId('booking-checkout').waitFor({ ...WAIT, state: 'hidden' });
        expect(await customer.getByTestId('customer-error').textContent()).toBe('');
      });

      it("rebuilds a mechanic's offers from sync after the connection drops: what was cancelled meanwhile goes, what was booked meanwhile comes", async () => {
        // Arrange: a mechanic of this test's own (pasted token) holds one open offer.
        const mechanicId = await registerMechanic(sandbox);
        const { page, token } = await mechanicWithToken(sandbox, mechanicId);
        const customer = await customerPage(sandbox, 'customer-console-resync');
        const stale = await book(customer, 'Stale: cancelled while away');
        const offer = (concern: string) => page.getByTestId('offer').filter({ hasText: concern });
        await offer('Stale').waitFor(WAIT);

        // Act: API Gateway drops the connection (DeleteConnection), and the mechanic stays away while
        // their handshakes fail (the authorizer's function fails for their token); meanwhile the
        // stale booking is cancelled and a fresh one made. Neither reaches them: they have no connection.
        await armFault(sandbox, { service: 'lambda', operation: 'wsAuthorizer', error: 'Runtime.ExitError', times: 0, match: token });
        const management = new ApiGatewayManagementApiClient({ ...awsClientConfig(sandbox), endpoint: sandbox.connectionsEndpoint });
        for (const connectionId of await connectionIdsOf(sandbox, mechanicId))
          await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
        management.destroy();
        await page.locator('[data-testid="mechanic-connection"][data-state="reconnecting"]').waitFor(WAIT);
        await customer.locator(`[data-session-id="${stale}"]`).getByTestId('booking-cancel').click();
        await bookingStatus(customer, stale).filter({ hasText: 'Cancelled' }).waitFor(WAIT);
        const fresh = await book(customer, 'Fresh: booked while away');
        await bookingStatus(customer, fresh).filter({ hasText: 'Open to everyone' }).waitFor(WAIT);
        // Every fan-out run (its split, then one per shard) has read the connections, so only sync can tell them now.
        const fanOutRuns = (sessionId: string) =>
          sandbox.invocations().filter((r) => r.function === 'fanOut' && r.requestId === requestIdFor(sessionId)).length;
        await eventually(
          () => fanOutRuns(stale) >= 2 * (1 + CONNECTION_SHARDS) && fanOutRuns(fresh) >= 1 + CONNECTION_SHARDS,
          'the offers and the cancel to be fanned out',
        );
        await clearFaults(sandbox);

        // Assert: reconnected, the list is what sync answers.
        await connected(page, mechanicId);
        await offer('Fresh').waitFor(WAIT);
        await offer('Stale').waitFor({ ...WAIT, state: 'detached' });
      });

      it("lists a customer's bookings again from sync after the page is reloaded, newest first", async () => {
        // Arrange: one booking cancelled, then one open.
        const customer = await customerPage(sandbox, 'customer-console-reload');
        const cancelled = await book(customer, 'Wipers stuck');
        await customer.locator(`[data-session-id="${cancelled}"]`).getByTestId('booking-cancel').click();
        await bookingStatus(customer, cancelled).filter({ hasText: 'Cancelled' }).waitFor(WAIT);
        const waiting = await book(customer, 'Horn is silent');
        await bookingStatus(customer, waiting).filter({ hasText: 'Open to everyone' }).waitFor(WAIT);

        // Act
        await customer.reload();

        // Assert: the tab remembered who it is, and the list came back from the `sessions` answer.
        await customer.getByTestId('customer-connection').filter({ hasText: 'Connected as customer-console-reload' }).waitFor(WAIT);
        expect(await customer.getByTestId('customer-id').inputValue()).toBe('customer-console-reload');
        await bookingStatus(customer, cancelled).filter({ hasText: 'Cancelled' }).waitFor(WAIT);
        await bookingStatus(customer, waiting)
          .filter({ hasText: /^Open to everyone — expires in \d+:\d\d$/ })
          .waitFor(WAIT);
        expect(await customer.getByTestId('booking').evaluateAll((cards) => cards.map((card) => card.getAttribute('data-session-id')))).toEqual([
          waiting,
          cancelled,
        ]);
      });

      it('connects its WebSockets with single-use tickets, never a token in the URL', async () => {
        const page = await open(sandbox, 'mechanic');
        const urls: string[] = [];
        page.on('websocket', (socket) => urls.push(socket.url()));
        await page.getByTestId('mechanic-select').selectOption('mech-carol');
        await page.getByTestId('mechanic-connect').click();
        await page.getByTestId('mechanic-connection').filter({ hasText: 'Connected as mech-carol' }).waitFor(WAIT);

        expect(urls).toEqual([expect.stringMatching(/\?ticket=[A-Za-z0-9_-]{43}$/)]);
        expect(sandbox.logs.some((line) => line.includes('[ticket] Connect ticket issued') && line.includes('mech-carol'))).toBe(true);
      });
    });

    describe('with a 10-minute window and a 20-second request TTL', () => {
      let sandbox: Sandbox;

      beforeAll(async () => {
        sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: 600, requestTtlSeconds: 20 });
      });

      afterAll(async () => {
        await sandbox?.stop();
      });

      it("connects a mechanic with a pasted token, who gets their customer's priority offer and accepts it", async () => {
        // Arrange: a mechanic who is not in the demo list, so only their token can connect them.
        const mechanicId = await registerMechanic(sandbox);
        const { page } = await mechanicWithToken(sandbox, mechanicId);
        const customer = await customerPage(sandbox, 'customer-console-pasted', { priority: true });
        await customer.getByTestId('customer-favorite-1').fill(mechanicId);

        // Act
        const sessionId = await book(customer, 'Check engine light');

        // Assert: the favorite's window is theirs, and their accept wins it.
        await bookingStatus(customer, sessionId)
          .filter({ hasText: new RegExp(`^Contacting ${mechanicId} \\(favorite 1 of 1\\) — \\d+:\\d\\d left$`) })
          .waitFor(WAIT);
        const offer = page.locator(`[data-testid="offer"][data-kind="priority"][data-request-id="${requestIdFor(sessionId)}"]`);
        await offer.getByTestId('offer-accept').click(WAIT);
        await page
          .getByTestId('mechanic-result')
          .filter({ hasText: `Accepted: ${requestIdFor(sessionId)} is yours` })
          .waitFor(WAIT);
        await bookingStatus(customer, sessionId)
          .filter({ hasText: `Matched with ${mechanicId}` })
          .waitFor(WAIT);
      });

      it('declines from the mechanic page: the booking moves to the next favorite, then opens to everyone, as the customer page shows', async () => {
        // Arrange: Alice and Bob are the favorites, Carol is anyone else.
        const alice = await mechanic(sandbox, 'mech-alice');
        const bob = await mechanic(sandbox, 'mech-bob');
        const carol = await mechanic(sandbox, 'mech-carol');
        const customer = await customerPage(sandbox, 'customer-console-decline', { priority: true });
        await customer.getByTestId('customer-favorite-1').fill('mech-alice');
        await customer.getByTestId('customer-favorite-2').fill('mech-bob');
        const sessionId = await book(customer, 'Gearbox whines');
        const status = bookingStatus(customer, sessionId);
        const priorityOffer = (page: Page) => page.locator('[data-testid="offer"][data-kind="priority"]');
        await status.filter({ hasText: /^Contacting mech-alice \(favorite 1 of 2\) — \d+:\d\d left$/ }).waitFor(WAIT);

        // Act and assert: Alice declines; Bob's window starts (the 10-minute window cannot have lapsed).
        await priorityOffer(alice).getByTestId('offer-decline').click(WAIT);
        await status.filter({ hasText: /^Contacting mech-bob \(favorite 2 of 2\) — \d+:\d\d left$/ }).waitFor(WAIT);

        // Bob declines too: the request opens to everyone, Carol included.
        await priorityOffer(bob).getByTestId('offer-decline').click(WAIT);
        await status.filter({ hasText: /^Open to everyone — expires in 0:\d\d$/ }).waitFor(WAIT);
        await carol.locator('[data-testid="offer"][data-kind="open"]').waitFor(WAIT);
      });

      it('shows a booking nobody took as expired once its request TTL has passed', async () => {
        const customer = await customerPage(sandbox, 'customer-console-expiry');
        const sessionId = await book(customer, 'Door will not lock');
        const status = bookingStatus(customer, sessionId);
        await status.filter({ hasText: /^Open to everyone — expires in 0:\d\d$/ }).waitFor(WAIT);

        await status.filter({ hasText: /^Expired$/ }).waitFor(WAIT);

        expect(await customer.locator(`[data-session-id="${sessionId}"]`).getByTestId('booking-cancel').isHidden()).toBe(true);
      });
    });
  },
);
