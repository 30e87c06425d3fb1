/** `npm start`: the sandbox in the foreground; its flags are in cli-options.ts. */
import { banner } from './banner';
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
  const sandboxOptions = options();
  const sandbox = await startSandbox(sandboxOptions);
  const flagOn = (await fetchFlag(sandbox.awsUrl, sandbox.flagParameterName)) === 'true';
  console.log(`\n${banner({ sandbox, options: sandboxOptions, flagOn, startedInSeconds: (Date.now() - started) / 1000, consoleUrl: sandbox.consoleUrl })}\n`);

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
