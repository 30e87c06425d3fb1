/**
 * The web console as the stack deploys it (`consoleSite`), in a real browser:
 * the minified bundle and an index.html whose config says `mode: aws`, served
 * from an origin of its own (`https://console.test`, answered by the browser's
 * request routing as CloudFront would), calling the sandbox's APIs at the
 * configured addresses. On the HTTP API's side the routing answers CORS as API
 * Gateway does for the stack's `corsPreflight` (that origin only, the routes'
 * methods, `authorization` and `content-type`): the sandbox plays a stage
 * without the site, which has none. There is no `/dev/token` and no operator
 * key there: customers and mechanics paste tokens, the ops view points to the CLI.
 */
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleConfig } from '../../contract/console';
import { bundleConsole, readConsoleFiles, withConfig } from '../../lib/console-bundle';
import type { Sandbox } from '../../sandbox/index';
import { CHROMIUM, chromiumMissing as missing, launchChromium, WAIT } from './browser';
import { startTestSandbox } from './clients';

const SITE = 'https://console.test';
/** What the stack's HTTP API allows the site (lib/constructs/apis.ts). */
const ALLOWED_METHODS = ['GET', 'POST', 'PUT'];
const ALLOWED_HEADERS = ['authorization', 'content-type'];

describe.skipIf(missing && !process.env.CI)(
  missing ? `deployed web console (skipped: ${CHROMIUM} is missing; apt-get install chromium, as .ci/run does)` : 'deployed web console',
  () => {
    let sandbox: Sandbox;
    let browser: Browser;
    let files: Record<string, { contentType: string; body: string | Buffer }>;
    /** Every request the page made to its own origin and to the HTTP API, as `METHOD url`. */
    const requests: string[] = [];

    beforeAll(async () => {
      sandbox = await startTestSandbox({ flag: 'off' });
      const config: ConsoleConfig = {
        mode: 'aws',
        stage: sandbox.stage,
        httpApiUrl: `${sandbox.httpUrl}/`,
        wsUrl: sandbox.wsUrl,
        aws: {
          region: 'us-east-1',
          flagParameterName: sandbox.flagParameterName,
          scheduleGroupName: sandbox.scheduleGroupName,
          tableName: sandbox.tableName,
          intakeFunctionName: 'intakeStart',
        },
      };
      const { indexHtml, styleCss } = readConsoleFiles();
      files = {
        '/': { contentType: 'text/html', body: withConfig(indexHtml, config) },
        '/app.js': { contentType: 'text/javascript', body: Buffer.from(await bundleConsole('site')) },
        '/style.css': { contentType: 'text/css', body: styleCss },
      };
      browser = await launchChromium([
        // A public origin may not reach loopback (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS), and the WebSocket
        // goes to the sandbox's; in AWS the page and both APIs are public, so the check does not apply there.
        '--disable-features=LocalNetworkAccessChecks',
      ]);
    });

    afterAll(async () => {
      await browser?.close();
      await sandbox?.stop();
    });

    /** The site's files, as CloudFront serves them from the bucket (anything else: S3's 403 through OAC). */
    const serveSite = async (route: Route): Promise<void> => {
      const request = route.request();
      requests.push(`${request.method()} ${request.url()}`);
      const file = files[new URL(request.url()).pathname];
      await route.fulfill(file ? { status: 200, ...file } : { status: 403, body: 'AccessDenied' });
    };

    /** The HTTP API with API Gateway's CORS for the site's origin: it answers the preflight itself and adds the headers to the integration's answer. */
    const corsApi = async (route: Route): Promise<void> => {
      const request = route.request();
      requests.push(`${request.method()} ${request.url()}`);
      const headers = await request.allHeaders();
      if (headers.origin !== SITE) return route.fulfill({ status: 403, body: 'unexpected origin' });
      if (request.method() === 'OPTIONS') {
        const wanted = (headers['access-control-request-headers'] ?? '').split(',').map((name) => name.trim().toLowerCase());
        const allowed =
          ALLOWED_METHODS.includes(headers['access-control-request-method'] ?? '') && wanted.every((name) => !name || ALLOWED_HEADERS.includes(name));
        return route.fulfill({
          status: 204,
          headers: allowed
            ? {
                'access-control-allow-origin': SITE,
                'access-control-allow-methods': ALLOWED_METHODS.join(','),
                'access-control-allow-headers': ALLOWED_HEADERS.join(','),
              }
            : {},
        });
      }
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'access-control-allow-origin': SITE } });
    };

    const open = async (view: 'customer' | 'mechanic' | 'ops'): Promise<Page> => {
      const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
      await page.route(`${SITE}/**`, serveSite);
      await page.route(`${sandbox.httpUrl}/**`, corsApi);
      await page.goto(`${SITE}/#${view}`);
      return page;
    };

    it('books with a pasted customer token and offers it to a mechanic connected with a pasted token, through the configured API addresses', async () => {
      const mechanic = await open('mechanic');
      await mechanic.getByTestId('mechanic-token').fill(await sandbox.token({ sub: 'mech-bob' }));
      await mechanic.getByTestId('mechanic-connect').click();
      await mechanic.getByTestId('mechanic-connection').filter({ hasText: 'Connected as mech-bob' }).waitFor(WAIT);
      const customer = await open('customer');
      await customer.getByTestId('customer-token').fill(await sandbox.token({ sub: 'customer-deployed' }));

      await customer.getByTestId('customer-book').click();

      await customer.getByTestId('customer-connection').filter({ hasText: 'Connected as customer-deployed' }).waitFor(WAIT);
      await customer
        .getByTestId('booking-status')
        .filter({ hasText: /Open to everyone/ })
        .waitFor(WAIT);
      await mechanic.getByTestId('offer').waitFor(WAIT);
      expect(requests).toContain(`POST ${sandbox.httpUrl}/intake/start`);
      expect(requests.filter((request) => request.includes('/dev/'))).toEqual([]);
    });

    it('says to paste a token when there is none, since only the sandbox issues dev tokens', async () => {
      const customer = await open('customer');

      await customer.getByTestId('customer-book').click();

      await customer.getByTestId('customer-error').filter({ hasText: 'only the sandbox issues dev tokens: paste a token from your issuer' }).waitFor(WAIT);
    });

    it('sends ops to the CLI for this stage instead of calling AWS without credentials', async () => {
      const ops = await open('ops');

      const note = ops.getByTestId('ops-needs-credentials');
      await note.waitFor(WAIT);
      expect(await note.textContent()).toContain(`npx priority-dispatch flag status --stage ${sandbox.stage} --region us-east-1`);
      expect(await ops.locator('pd-ops').count()).toBe(0);
    });
  },
);
