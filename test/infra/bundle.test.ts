/**
 * The one slow infra test: `cdk synth` exactly as a developer runs it (the CLI,
 * cdk.json, bin/app.ts with cdk-nag on) with real esbuild bundling of every
 * handler. Each bundle carries exactly the AWS clients its manifest entry
 * grants (read from its source map's list of sources), and every bundle is
 * loaded, outside the repository so nothing can resolve from node_modules, to
 * prove it is self-contained and exports `handler`. It does not look at what
 * the handlers do.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/constructs/node-function';
import { asyncTargets, type FunctionName, type FunctionSpec, functions as manifest } from '../../contract/routes';

const run = promisify(execFile);
const outdir = mkdtempSync(path.join(tmpdir(), 'priority-dispatch-synth-'));

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

interface LambdaResource {
  Type: string;
  Properties: { Environment?: { Variables: Record<string, unknown> }; FunctionName?: unknown; Timeout?: number; Description?: string };
  Metadata: Record<string, unknown>;
}

/**
 * What a manifest grant brings into a bundle, and what brings it: an AWS SDK
 * client, or our own adapter where no SDK client is involved. A bundle holds
 * a piece exactly when its function's manifest entry grants what it serves.
 */
const PIECES: Record<string, (spec: FunctionSpec) => boolean> = {
  '@aws-sdk/client-dynamodb': (spec) => Boolean(spec.table?.length),
  '@aws-sdk/client-ssm': (spec) => Boolean(spec.readsFlag),
  '@aws-sdk/client-scheduler': (spec) => Boolean(spec.setsTimers || spec.clearsTimers || spec.readsTimers),
  '@aws-sdk/client-lambda': (spec) => Boolean(spec.fansOut),
  'lambdas/adapters/signed-connections-pusher.ts': (spec) => Boolean(spec.pushes),
  jose: (spec) => Boolean(spec.verifiesJwt),
  // The SDK's default credential chain comes with its clients; the pusher signs with the env's credentials alone.
  '@aws-sdk/credential-provider-node': (spec) =>
    Boolean(spec.table?.length || spec.readsFlag || spec.setsTimers || spec.clearsTimers || spec.readsTimers || spec.fansOut),
};

/** The pieces of PIECES among a source map's sources (paths relative to the bundle). */
function piecesIn(sources: readonly string[]): string[] {
  return Object.keys(PIECES)
    .filter((piece) => sources.some((source) => source.includes(piece.startsWith('lambdas/') ? piece : `node_modules/${piece}/`)))
    .sort();
}

describe('cdk synth with real bundling', () => {
  let template: { Resources: Record<string, LambdaResource> };
  let synthMs = 0;

  it('succeeds offline through the CLI, cdk-nag included', { timeout: 180_000 }, async () => {
    const started = performance.now();
    const { stderr } = await run(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '--output', outdir, '-c', 'stage=ci', '-c', 'jwtIssuer=https://auth.example.com'],
      { cwd: REPO_ROOT, env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' }, maxBuffer: 64 * 1024 * 1024 },
    );
    synthMs = performance.now() - started;
    // cdk.json carries this aws-cdk-lib's recommended feature flags, as `cdk init` writes them.
    expect(stderr).not.toMatch(/feature flags are not configured/);
    console.info(`[bundle.test] cdk synth with bundling: ${Math.round(synthMs)} ms`);
    template = JSON.parse(readFileSync(path.join(outdir, 'PriorityDispatch-ci.template.json'), 'utf8'));
  });

  it('bundled every handler as CommonJS with an external source map', () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(Object.keys(manifest).length);
    for (const fn of functions) {
      expect(fn.Metadata['aws:asset:is-bundled']).toBe(true);
      const dir = path.join(outdir, String(fn.Metadata['aws:asset:path']));
      expect(existsSync(path.join(dir, 'index.js')), dir).toBe(true);
      expect(existsSync(path.join(dir, 'index.js.map')), dir).toBe(true);
    }
  });

  it('each bundle carries exactly the AWS clients (and pusher, and jose) its manifest entry grants', () => {
    const names = Object.keys(manifest) as FunctionName[];
    const byDescription = new Map(names.map((name) => [manifest[name].description as string, name]));
    const carried: Record<string, string[]> = {};
    for (const fn of Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
      const name = byDescription.get(String(fn.Properties.Description))!;
      const map = JSON.parse(readFileSync(path.join(outdir, String(fn.Metadata['aws:asset:path']), 'index.js.map'), 'utf8')) as { sources: string[] };
      carried[name] = piecesIn(map.sources);
    }
    const granted = Object.fromEntries(
      names.map((name) => [
        name,
        Object.entries(PIECES)
          .filter(([, grants]) => grants(manifest[name] as FunctionSpec))
          .map(([piece]) => piece)
          .sort(),
      ]),
    );
    expect(carried).toEqual(granted);
    // The examples, spelled out: a WebSocket ping carries no AWS SDK client at all.
    expect(carried.wsPing).toEqual(['lambdas/adapters/signed-connections-pusher.ts']);
  });

  it('names the async targets after the stage, with the manifest’s timeouts', () => {
    const byName = Object.fromEntries(
      Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function' && typeof r.Properties.FunctionName === 'string')
        .map((r) => [r.Properties.FunctionName, r.Properties.Timeout]),
    );
    expect(byName).toEqual({
      [`priority-dispatch-ci-${asyncTargets.timer}`]: manifest[asyncTargets.timer].timeoutSeconds,
      [`priority-dispatch-ci-${asyncTargets.fanOut}`]: manifest[asyncTargets.fanOut].timeoutSeconds,
    });
  });

  it('every bundle loads on its own and exports handler', { timeout: 60_000 }, async () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    const bundles = functions.map((fn) => ({
      file: path.join(outdir, String(fn.Metadata['aws:asset:path']), 'index.js'),
      env: stubEnvironment(fn.Properties.Environment?.Variables ?? {}),
    }));
    // One child process, run from the temp dir: a module left external would fail to resolve.
    const script = path.join(outdir, 'load-bundles.mjs');
    writeFileSync(
      script,
      `import { createRequire } from 'node:module';
// Lambda's runtime requires a CommonJS handler file.
const require = createRequire(import.meta.url);
const bundles = ${JSON.stringify(bundles)};
const results = [];
for (const { file, env } of bundles) {
  Object.assign(process.env, env);
  try {
    const mod = require(file);
    results.push({ file, handler: typeof mod.handler });
  } catch (error) {
    results.push({ file, error: String(error && error.stack || error).slice(0, 500) });
  }
}
process.stdout.write(JSON.stringify(results));
process.exit(0);
`,
    );
    const { stdout } = await run(process.execPath, [script], {
      cwd: outdir,
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      timeout: 50_000,
    });
    const results = JSON.parse(stdout) as { file: string; handler?: string; error?: string }[];
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results.map((r) => r.handler)).toEqual(bundles.map(() => 'function'));
  });
});

/** Plausible values for env vars whose real values are CloudFormation tokens. */
function stubEnvironment(variables: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => {
      if (typeof value === 'string') return [name, value];
      if (name === 'DEAD_LETTER_QUEUE_ARN') return [name, 'arn:aws:sqs:us-east-1:123456789012:stub-dead-letter-queue'];
      if (name === 'SCHEDULER_ROLE_ARN') return [name, 'arn:aws:iam::123456789012:role/stub-scheduler-role'];
      if (name.endsWith('_ARN')) return [name, `arn:aws:lambda:us-east-1:123456789012:function:${name.toLowerCase()}`];
      if (name === 'CONNECTIONS_ENDPOINT') return [name, 'https://abc123.execute-api.us-east-1.amazonaws.com/ci'];
      return [name, `stub-${name.toLowerCase()}`];
    }),
  );
}
