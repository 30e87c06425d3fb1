/**
 * The web console's files, built from console/: index.html with the page's
 * config written in, style.css, and app.js, the one esbuild bundle of
 * console/app.ts. The sandbox builds them when the console is first asked for
 * (sandbox/console-site.ts), the stack at synth when it deploys the console
 * (lib/constructs/console-site.ts); both through the functions below, so the
 * page is the same wherever it is served.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, buildSync } from 'esbuild';
import type { ConsoleConfig } from '../contract/console';

const SOURCE = fileURLToPath(new URL('../console/', import.meta.url));
/** Where index.html takes its config. */
const CONFIG_PLACEHOLDER = '<!-- config -->';

/**
 * `sandbox`: readable, with an inline source map (2.2 MB), for a developer's browser tools.
 * `site`: minified without a source map (about 260 KB), for a deployed site.
 */
export type ConsoleBuild = 'sandbox' | 'site';

const options = (kind: ConsoleBuild): BuildOptions => ({
  entryPoints: [`${SOURCE}app.ts`],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'error',
  ...(kind === 'sandbox' ? { sourcemap: 'inline' } : { minify: true }),
});

/** app.js, without blocking the caller (the sandbox answers other requests meanwhile). */
export async function bundleConsole(kind: ConsoleBuild): Promise<Uint8Array> {
  const bundle = await build(options(kind));
  return bundle.outputFiles![0]!.contents;
}

/** app.js, synchronously: CDK constructs are built synchronously. */
export function bundleConsoleSync(kind: ConsoleBuild): Uint8Array {
  return buildSync(options(kind)).outputFiles![0]!.contents;
}

/** The static files as they are in console/. */
export function readConsoleFiles(): { readonly indexHtml: string; readonly styleCss: Buffer } {
  return { indexHtml: readFileSync(`${SOURCE}index.html`, 'utf8'), styleCss: readFileSync(`${SOURCE}style.css`) };
}

/** index.html with `config` written in as the JSON script console/api.ts reads; `<` escaped so no value can close the script element. */
export function withConfig(indexHtml: string, config: ConsoleConfig): string {
  if (!indexHtml.includes(CONFIG_PLACEHOLDER)) throw new Error(`console/index.html has no ${CONFIG_PLACEHOLDER} to write the config into`);
  const script = `<script id="config" type="application/json">${JSON.stringify(config).replace(/</g, '\\u003c')}</script>`;
  return indexHtml.replace(CONFIG_PLACEHOLDER, () => script);
}
