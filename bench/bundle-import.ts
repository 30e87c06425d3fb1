/**
 * Fresh import of each function's bundle (issue #9, "small functions"): every
 * function built as the stack builds it (lib/constructs/node-function.ts's
 * FUNCTION_BUNDLING, through esbuild's API rather than `cdk synth`), then each
 * bundle loaded by a fresh Node process as Lambda's runtime loads it, with the
 * environment the stack sets (no NODE_OPTIONS), timed from spawn to exit.
 * The floor is an empty module loaded the same way: Node's own start-up.
 * Runs are interleaved (floor, every bundle, floor, …), so a busy moment of
 * the shared machine lands on all of them alike. Goal: the largest bundle
 * within 2× the floor.
 *
 * `sourceMapCost` measures what `--enable-source-maps` would add (README
 * "Design choices"): the same bundle and its source map, imported with and
 * without the flag, then its handler's first unexpected error, logged with its
 * stack trace, as the first error of a container is.
 *
 * Alone: `node --import tsx bench/bundle-import.ts` (BENCH_RUNS, default 9).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { type FunctionName, functions, httpRoutes } from '../contract/routes';
import { FUNCTION_BUNDLING, FUNCTION_RUNTIME, REPO_ROOT } from '../lib/constructs/node-function';
import { type Stat, stat } from './stats';

export type { Stat };

export interface BundleImportResult {
  /** An empty module's fresh import: Node's start-up. */
  floor: Stat;
  bundles: { function: FunctionName; bytes: number; import: Stat }[];
}

export interface SourceMapCost {
  function: FunctionName;
  /** Bytes of the bundle and of its (external) source map. */
  bytes: number;
  mapBytes: number;
  /** In-process `import` of the bundle, and its handler's first and second unexpected error (each logged with its stack), ms. */
  without: { import: Stat; firstError: Stat; secondError: Stat };
  with: { import: Stat; firstError: Stat; secondError: Stat };
}

/** Every function's bundle: its fresh import against the floor's, `runs` times each. */
export async function bundleImport(options: { runs: number }): Promise<BundleImportResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-import-'));
  try {
    const bundles = await buildBundles(dir);
    const empty = path.join(dir, `empty${path.extname(bundles[0]!.file)}`);
    writeFileSync(empty, '');
    const floor: number[] = [];
    const samples = bundles.map((): number[] => []);
    for (let run = 0; run < options.runs; run++) {
      floor.push(await freshImportMs(empty));
      for (const [i, bundle] of bundles.entries()) samples[i]!.push(await freshImportMs(bundle.file));
    }
    return {
      floor: stat(floor),
      bundles: bundles.map((bundle, i) => ({ function: bundle.function, bytes: bundle.bytes, import: stat(samples[i]!) })),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What `--enable-source-maps` costs the largest HTTP function (its handler given `{}` fails inside the bundle, and logs the stack). */
export async function sourceMapCost(options: { runs: number }): Promise<SourceMapCost> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-import-'));
  try {
    const http = new Set<FunctionName>(httpRoutes.map((route) => route.function));
    const bundle = (await buildBundles(dir, { sourcemap: 'linked' })).filter((b) => http.has(b.function)).sort((a, b) => b.bytes - a.bytes)[0]!;
    const samples = { without: [] as number[][], with: [] as number[][] };
    for (let run = 0; run < options.runs; run++) {
      samples.without.push(await importAndFail(bundle.file, []));
      samples.with.push(await importAndFail(bundle.file, ['--enable-source-maps']));
    }
    const summary = (rows: number[][]) => ({
      import: stat(rows.map((r) => r[0]!)),
      firstError: stat(rows.map((r) => r[1]!)),
      secondError: stat(rows.map((r) => r[2]!)),
    });
    return {
      function: bundle.function,
      bytes: bundle.bytes,
      mapBytes: statSync(`${bundle.file}.map`).size,
      without: summary(samples.without),
      with: summary(samples.with),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Bundle {
  function: FunctionName;
  file: string;
  bytes: number;
}

/** The NodejsFunction bundling options translated below (`forceDockerBundling` only says where esbuild runs). */
const KNOWN_BUNDLING = new Set([
  'format',
  'minify',
  'sourceMap',
  'sourceMapMode',
  'sourcesContent',
  'mainFields',
  'externalModules',
  'banner',
  'forceDockerBundling',
]);

/** The stack's bundling (NodejsFunction's options) as esbuild's, so this builds what `cdk synth` builds; `override` for a variant. */
export function stackBuildOptions(override: BuildOptions = {}): BuildOptions {
  const unknown = Object.keys(FUNCTION_BUNDLING).filter((option) => !KNOWN_BUNDLING.has(option));
  if (unknown.length)
    throw new Error(`bench/bundle-import.ts does not know the bundling option(s) ${unknown.join(', ')}: teach it, or it builds something else`);
  const { format, minify, sourceMap, sourceMapMode, sourcesContent, mainFields, externalModules, banner } = FUNCTION_BUNDLING;
  return {
    bundle: true,
    platform: 'node',
    // What NodejsFunction passes for the runtime: nodejs24.x → node24.
    target: FUNCTION_RUNTIME.name.replace(/^nodejs(\d+).*$/, 'node$1'),
    format: format === 'esm' ? 'esm' : 'cjs',
    minify: minify ?? false,
    // NodejsFunction's `--sourcemap` (SourceMapMode.DEFAULT) is esbuild's 'linked': a file and a sourceMappingURL comment.
    sourcemap: sourceMap || sourceMapMode ? (sourceMapMode && sourceMapMode !== 'default' ? sourceMapMode : 'linked') : false,
    sourcesContent: sourcesContent ?? true,
    ...(mainFields ? { mainFields } : {}),
    external: externalModules ?? [],
    ...(banner ? { banner: { js: banner } } : {}),
    logLevel: 'error',
    absWorkingDir: REPO_ROOT,
    ...override,
  };
}

async function buildBundles(dir: string, override: BuildOptions = {}): Promise<Bundle[]> {
  const options = stackBuildOptions(override);
  const file = options.format === 'esm' ? 'index.mjs' : 'index.js';
  const names = Object.keys(functions) as FunctionName[];
  // One build per function, as the stack does: each its own bundle, no shared chunks.
  return Promise.all(
    names.map(async (name) => {
      const out = path.join(dir, name, file);
      mkdirSync(path.dirname(out), { recursive: true });
      await build({ ...options, entryPoints: [path.join(REPO_ROOT, functions[name].entry)], outfile: out });
      return { function: name, file: out, bytes: statSync(out).size };
    }),
  );
}

/** Only what every Lambda function has (the stack sets no NODE_OPTIONS): handlers read the rest on first use. */
const CHILD_ENV = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' };

/** A fresh process that loads the file as its main module (Lambda's runtime requires the handler file), spawn to exit. */
function freshImportMs(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'ignore', 'pipe'], env: CHILD_ENV });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${file} exited with ${code}: ${stderr.slice(0, 500)}`));
    });
  });
}

/** [import, first error, second error] in ms, in a fresh process with these Node flags. */
function importAndFail(file: string, flags: string[]): Promise<number[]> {
  // Loaded as Lambda's runtime loads it: `require` for CommonJS, `import` for an ES module.
  const load = file.endsWith('.mjs') ? `await import(${JSON.stringify(pathToFileURL(file).href)})` : `require(${JSON.stringify(file)})`;
  const script = `(async () => {
  const started = performance.now();
  const { handler } = ${load};
  const imported = performance.now() - started;
  const fail = async () => { const t = performance.now(); await Promise.resolve(handler({})).catch(() => undefined); return performance.now() - t; };
  const first = await fail();
  const second = await fail();
  process.stderr.write('@@' + JSON.stringify([imported, first, second]));
})();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '-e', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...CHILD_ENV, TABLE_NAME: 'bench' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', () => {
      const found = /@@(\[.*\])$/.exec(stderr);
      if (found) resolve(JSON.parse(found[1]!) as number[]);
      else reject(new Error(`${file}: ${stderr.slice(0, 500)}`));
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.env.BENCH_RUNS ?? 9);
  const r = await bundleImport({ runs });
  const largest = [...r.bundles].sort((a, b) => b.bytes - a.bytes)[0]!;
  console.log(`Fresh import, ${runs} runs each (median, min–max, ms; a shared machine: indicative)`);
  console.log(`${'empty module (floor)'.padEnd(22)} ${''.padStart(8)}  ${fmt(r.floor)}`);
  for (const b of r.bundles) {
    const ratio = (b.import.median / r.floor.median).toFixed(1);
    console.log(`${b.function.padEnd(22)} ${`${Math.round(b.bytes / 1024)} KiB`.padStart(8)}  ${fmt(b.import)}  ${ratio}× floor`);
  }
  const ratio = largest.import.median / r.floor.median;
  console.log(`largest (${largest.function}): ${ratio.toFixed(2)}× the floor; goal ≤ 2×: ${ratio <= 2 ? 'pass' : 'FAIL'}`);

  const maps = await sourceMapCost({ runs });
  console.log(`\n--enable-source-maps, ${maps.function} (${Math.round(maps.bytes / 1024)} KiB, map ${Math.round(maps.mapBytes / 1024)} KiB), in-process ms:`);
  for (const [label, m] of [
    ['without', maps.without],
    ['with', maps.with],
  ] as const) {
    console.log(`${label.padEnd(8)} import ${fmt(m.import)}; 1st error ${fmt(m.firstError)}; 2nd error ${fmt(m.secondError)}`);
  }
}

function fmt(s: Stat): string {
  return `${s.median} (${s.min}–${s.max})`;
}
