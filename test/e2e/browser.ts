/**
 * Chromium for the console's tests: Debian's build driven by playwright-core, the flags a container
 * needs, generous waits and the README's screenshots (written only with `SAVE_SCREENSHOTS=1`).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumMissing = !existsSync(CHROMIUM);
/** Generous: a busy machine makes the browser slow, not the test wrong. */
export const WAIT = { timeout: 60_000 };
const SCREENSHOTS = process.env.SAVE_SCREENSHOTS === '1' ? resolve(import.meta.dirname, '../../docs/screenshots') : undefined;

/** Debian's Chromium with the flags a container needs, and any more the test asks for. */
export const launchChromium = (extraArgs: readonly string[] = []): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', ...extraArgs],
  });

/** docs/screenshots/<name>.png, when asked for; without `SAVE_SCREENSHOTS=1` the tracked files are left alone. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage: true });
}
