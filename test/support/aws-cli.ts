/** The real AWS CLI, for tests that drive the sandbox as an operator would. */
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface AwsCli {
  label: string;
  run(endpointUrl: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Every distinct `aws` binary here (v2 at /usr/bin/aws, v1 on PATH…), each run with test credentials and no user config. */
export function awsClis(): AwsCli[] {
  const found = new Map<string, string>();
  for (const dir of ['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    const path = join(dir, 'aws');
    if (dir && existsSync(path)) found.set(realpathSync(path), path);
  }
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  return [...found.values()].map((path) => ({
    label: path,
    // Asynchronous on purpose: the endpoint answering the CLI lives in this process.
    run: (endpointUrl, args) =>
      promisify(execFile)(path, ['--endpoint-url', endpointUrl, '--output', 'json', ...args], { env }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? 1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
      ),
  }));
}
