/**
 * `npm start`: the sandbox in the foreground. Every flag also reads from an
 * env var (SANDBOX_HTTP_PORT, …) so scripts and containers can set it.
 */
import { parseArgs } from 'node:util';
import { startSandbox, type SandboxOptions } from './index';

const USAGE = `Usage: npm start -- [options]

  --http-port <n>         HTTP API port (env SANDBOX_HTTP_PORT, default 3000, 0 = any free port)
  --ws-port <n>           WebSocket API port (env SANDBOX_WS_PORT, default 3001)
  --aws-port <n>          AWS endpoint port (env SANDBOX_AWS_PORT, default 4566)
  --priority-window <s>   priority window in seconds (env SANDBOX_PRIORITY_WINDOW, default 600)
  --flag on|off           set ENABLE_FAVORITES_PRIORITY at start (env SANDBOX_FLAG; default: keep stored, false at first)
  --flag-cache-ttl <s>    how long handlers cache the flag (env SANDBOX_FLAG_CACHE_TTL, default 10)
  --async-retry-delays <s>,<s>  Lambda's waits before retrying a failed async invocation (env SANDBOX_ASYNC_RETRY_DELAYS, default 60,120)
  --in-memory             keep nothing on disk (env SANDBOX_IN_MEMORY=1)
  --data-dir <path>       where state lives (env SANDBOX_DATA_DIR, default .sandbox)
  --help                  this text`;

function options(): SandboxOptions {
  const { values } = parseArgs({
    options: {
      'http-port': { type: 'string' },
      'ws-port': { type: 'string' },
      'aws-port': { type: 'string' },
      'priority-window': { type: 'string' },
      flag: { type: 'string' },
      'flag-cache-ttl': { type: 'string' },
      'async-retry-delays': { type: 'string' },
      'in-memory': { type: 'boolean' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = process.env;
  const number = (name: string, raw: string | undefined, min: number): number | undefined => {
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) fail(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
    return value;
  };
  /** Two waits in seconds, `60,120`: Lambda retries a failed async invocation twice. */
  const delays = (name: string, raw: string | undefined): number[] | undefined => {
    if (raw === undefined || raw === '') return undefined;
    const seconds = raw.split(',').map((part) => Number(part.trim()));
    if (seconds.length !== 2 || seconds.some((s) => !Number.isFinite(s) || s < 0)) fail(`${name} must be two waits in seconds, like 60,120; got "${raw}"`);
    return seconds.map((s) => Math.round(s * 1000));
  };
  const flag = values.flag ?? env.SANDBOX_FLAG;
  if (flag !== undefined && flag !== 'on' && flag !== 'off') fail(`--flag must be on or off, got "${flag}"`);
  return {
    httpPort: number('--http-port', values['http-port'] ?? env.SANDBOX_HTTP_PORT, 0),
    wsPort: number('--ws-port', values['ws-port'] ?? env.SANDBOX_WS_PORT, 0),
    awsPort: number('--aws-port', values['aws-port'] ?? env.SANDBOX_AWS_PORT, 0),
    priorityWindowSeconds: number('--priority-window', values['priority-window'] ?? env.SANDBOX_PRIORITY_WINDOW, 1),
    flagCacheTtlSeconds: number('--flag-cache-ttl', values['flag-cache-ttl'] ?? env.SANDBOX_FLAG_CACHE_TTL, 1),
    asyncRetryDelaysMs: delays('--async-retry-delays', values['async-retry-delays'] ?? env.SANDBOX_ASYNC_RETRY_DELAYS),
    flag: flag as 'on' | 'off' | undefined,
    inMemory: values['in-memory'] ?? ['1', 'true'].includes(env.SANDBOX_IN_MEMORY ?? ''),
    dataDir: values['data-dir'] ?? env.SANDBOX_DATA_DIR,
  };
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const started = Date.now();
  const sandbox = await startSandbox(options());
  const flagOn = (await fetchFlag(sandbox.awsUrl, sandbox.flagParameterName)) === 'true';
  const tokens = await Promise.all(sandbox.demo.mechanics.map(async (m) => ({ ...m, token: await sandbox.token({ sub: m.id }) })));
  const customerToken = await sandbox.token({ sub: sandbox.demo.customerId });
  const alice = tokens[0]!;

  console.log(`
priority-dispatch sandbox is up in ${((Date.now() - started) / 1000).toFixed(1)} s   (stage "${sandbox.stage}", data ${sandbox.dataDir ?? 'in memory'})

  HTTP API        ${sandbox.httpUrl}
  WebSocket API   ${sandbox.wsUrl}?token=<JWT>
  @connections    ${sandbox.connectionsEndpoint}/@connections/{id}
  AWS endpoint    ${sandbox.awsUrl}   (dynamodb, ssm, scheduler)
  Flag            ${sandbox.flagParameterName} = ${flagOn ? 'true (priority ON)' : 'false (priority OFF)'}

Demo customer: ${sandbox.demo.customerId}
  token: ${customerToken}

Demo mechanics (tokens valid 12 h; more from POST ${sandbox.httpUrl}/dev/token {"sub":"..."}):
${tokens.map((m) => `  ${m.id.padEnd(11)} ${m.status.padEnd(9)} ${(m.workshop_id ?? '').padEnd(12)} ${m.name}\n    token: ${m.token}`).join('\n')}

Try it:
  npx wscat -c "${sandbox.wsUrl}?token=${alice.token}"
  aws --endpoint-url ${sandbox.awsUrl} ssm put-parameter --name ${sandbox.flagParameterName} --value true --overwrite
  curl -s -X POST ${sandbox.httpUrl}/intake/start -H "authorization: Bearer ${customerToken}" -H 'content-type: application/json' \\
       -d '{"plan":"free","concern":"Brakes squeal","preferred_mechanic_id":"mech-alice","routing_type":"priority_broadcast"}'

Ctrl-C stops it; state stays in ${sandbox.dataDir ?? 'memory (gone on exit)'}.
`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the sandbox…`);
    await sandbox.stop();
    console.log('Stopped. Nothing lost.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function fetchFlag(awsUrl: string, name: string): Promise<string | undefined> {
  const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const client = new SSMClient({ endpoint: awsUrl, region: 'us-east-1', credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' } });
  return (await client.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
}

main().catch((error: unknown) => {
  const message =
    (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? `A port is already in use (${(error as Error).message}); pick others with --http-port/--ws-port/--aws-port`
      : String((error as Error).stack ?? error);
  console.error(message);
  process.exit(1);
});
