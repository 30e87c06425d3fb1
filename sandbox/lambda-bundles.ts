/**
 * The handlers as containers load them: one ESM bundle per function of the
 * project's own code (esbuild), so every container that imports its bundle
 * gets its own module scope — its own SDK clients, caches, flag cache and
 * Powertools logger, which is where the handlers keep state — as each Lambda
 * container does. Packages stay in node_modules, loaded once per worker and
 * shared by its containers: a container's cold start is then our code's, not
 * the SDK's (in AWS each container also loads the SDK, on its own CPU; here
 * containers share two cores, and a thread evaluating a 2 MB bundle stalls
 * every container on it for seconds on a busy machine). Sharing @smithy/core
 * is also what lets the sandbox wrap every client's `send` to enforce the
 * manifest's grants and inject crashes (sandbox/lambda-container.ts).
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { type FunctionName, functions } from '../contract/routes';

const ROOT = resolve(import.meta.dirname, '..');
/** Inside the project, so a bundle's package imports resolve from its node_modules. */
const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'priority-dispatch-sandbox');

let built: Promise<Record<FunctionName, string>> | undefined;

/** Builds every function's bundle once per process; resolves to each bundle's file URL. */
export function functionBundles(): Promise<Record<FunctionName, string>> {
  built ??= buildAll();
  return built;
}

async function buildAll(): Promise<Record<FunctionName, string>> {
  mkdirSync(OUT_DIR, { recursive: true });
  const names = Object.keys(functions) as FunctionName[];
  // One directory per process: test files running side by side never overwrite each other's bundles.
  const outDir = join(OUT_DIR, `${process.pid}-${Date.now().toString(36)}`);
  await build({
    entryPoints: Object.fromEntries(names.map((name) => [name, resolve(ROOT, functions[name].entry)])),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'error',
  });
  // Built for this process only: gone when it ends.
  process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
  return Object.fromEntries(
    names.map((name) => {
      const file = join(outDir, `${name}.mjs`);
      if (!existsSync(file) || statSync(file).size === 0) throw new Error(`esbuild produced no bundle for ${name}`);
      return [name, pathToFileURL(file).href];
    }),
  ) as Record<FunctionName, string>;
}
