/**
 * The one slow infra test: `cdk synth` exactly as a developer runs it (the CLI,
 * cdk.json, bin/app.ts with cdk-nag on) with real esbuild bundling of every
 * handler. Then every bundle is imported, outside the repository so nothing
 * can resolve from node_modules, to prove it is self-contained and exports
 * `handler`. It does not look at what the handlers do.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/constructs/node-function';
import { asyncTargets, functions as manifest } from '../../contract/routes';

const run = promisify(execFile);
const outdir = mkdtempSync(path.join(tmpdir(), 'priority-dispatch-synth-'));

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

interface LambdaResource {
  Type: string;
  Properties: { Environment?: { Variables: Record<string, unknown> }; FunctionName?: unknown; Timeout?: number };
  Metadata: Record<string, unknown>;
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

  it('bundled every handler as ESM with a source map', () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(Object.keys(manifest).length);
    for (const fn of functions) {
      expect(fn.Metadata['aws:asset:is-bundled']).toBe(true);
      const dir = path.join(outdir, String(fn.Metadata['aws:asset:path']));
      expect(existsSync(path.join(dir, 'index.mjs')), dir).toBe(true);
      expect(existsSync(path.join(dir, 'index.mjs.map')), dir).toBe(true);
    }
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
      file: path.join(outdir, String(fn.Metadata['aws:asset:path']), 'index.mjs'),
      env: stubEnvironment(fn.Properties.Environment?.Variables ?? {}),
    }));
    // One child process, run from the temp dir: a module left external would fail to resolve.
    const script = path.join(outdir, 'load-bundles.mjs');
    writeFileSync(
      script,
      `const bundles = ${JSON.stringify(bundles)};
const results = [];
for (const { file, env } of bundles) {
  Object.assign(process.env, env);
  try {
    const mod = await import(file);
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
