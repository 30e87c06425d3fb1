/** `npm start`: the sandbox in the foreground; its flags are in cli-options.ts. */
import { parseSandboxArgs, USAGE, UsageError } from './cli-options';
import { startSandbox, type SandboxOptions } from './index';

function options(): SandboxOptions {
  try {
    const parsed = parseSandboxArgs(process.argv.slice(2), process.env);
    if (parsed === 'help') {
      console.log(USAGE);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
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
  AWS endpoint    ${sandbox.awsUrl}   (dynamodb, ssm, scheduler, lambda)
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
