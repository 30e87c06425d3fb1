/**
 * The ops CLI (`npx priority-dispatch …`, launched by priority-dispatch.mjs): parses the command line, resolves
 * the target, runs one command and prints its result. Exit codes: 0 done, 1 the operation failed, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { stackName } from '../contract/naming';
import { type Invocation, parseOpsArgs, USAGE } from './args';
import { clientsFor } from './clients';
import { replayDeadLetters, sandboxDeadLetterQueue, sqsDeadLetterQueue } from './dead-letters';
import { EXIT, OpsError, UsageError } from './errors';
import { readFlag, setFlag } from './flag';
import { bookingText, deadLettersText, flagText, mechanicsText, replayedText, requestsText } from './format';
import { listMechanics, putMechanic } from './mechanics';
import { listRequests, showRequest } from './requests';
import { tail } from './tail';
import { isMissingStack, need, outputsOf, sandboxTarget, stageRegion, stageTarget, type Target } from './target';

/** What a command answers: data for `--json`, text for people. */
interface Result {
  data: unknown;
  text: string;
}
const result = <T>(data: T, toText: (data: T) => string): Result => ({ data, text: toText(data) });

async function targetOf(invocation: Invocation): Promise<Target> {
  const { stage, outputs } = invocation.target;
  if (stage === undefined) {
    if (outputs !== undefined) throw new UsageError('--outputs describes a deployed stage: give --stage too');
    return sandboxTarget(invocation.target);
  }
  const options = { ...invocation.target, stage };
  const described = outputs === undefined ? await describeStack(stage, stageRegion(options), options.endpointUrl) : readJson(outputs);
  return stageTarget(options, outputsOf(described, stage));
}

/** The stack's outputs straight from CloudFormation, when no --outputs file was given. */
async function describeStack(stage: string, region: string, endpoint: string | undefined): Promise<unknown> {
  try {
    return await clientsFor({ region, endpoint })
      .cloudFormation()
      .send(new DescribeStacksCommand({ StackName: stackName(stage) }));
  } catch (error) {
    if (isMissingStack(error)) throw new OpsError('stack_not_found', `stack ${stackName(stage)} not found in ${region}`);
    throw error;
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new OpsError('bad_outputs_file', `cannot read ${file} as JSON: ${(error as Error).message}`);
  }
}

async function run(invocation: Invocation, signal: AbortSignal): Promise<Result | undefined> {
  const { command } = invocation;
  if (command.name === 'help') return { data: { usage: USAGE }, text: USAGE };
  const target = await targetOf(invocation);
  const clients = clientsFor(target);
  const deadLetterQueue = () =>
    target.mode === 'sandbox' ? sandboxDeadLetterQueue(target) : sqsDeadLetterQueue(clients.sqs(), need(target, 'deadLetterQueueUrl'));
  switch (command.name) {
    case 'flag status':
      return result(await readFlag(clients.ssm(), target.flagParameterName), flagText);
    case 'flag set':
      return result(
        await setFlag(clients.ssm(), target.flagParameterName, command.on),
        (flag) => `${flagText(flag)}\nhandlers see it within their flag cache TTL (10 s by default)`,
      );
    case 'mechanics put':
      return result(await putMechanic(target, command), (mechanic) => mechanicsText([mechanic]));
    case 'mechanics list':
      return result(await listMechanics(clients.db(), need(target, 'tableName')), mechanicsText);
    case 'requests list':
      return result(await listRequests(clients.db(), need(target, 'tableName'), { ...command, now: new Date() }), requestsText);
    case 'requests show':
      return result(await showRequest(clients.db(), need(target, 'tableName'), command.id), bookingText);
    case 'dead-letters list':
      return result(await deadLetterQueue().list(), deadLettersText);
    case 'dead-letters replay': {
      const replayed = await replayDeadLetters({ queue: deadLetterQueue(), lambda: clients.lambda() }, command.all ? 'all' : command.ids);
      const failed = replayed.filter((r) => !r.replayed);
      if (failed.length > 0) throw new OpsError('replay_failed', `${replayedText(replayed)}\n${failed.length} of ${replayed.length} not replayed`);
      return result(replayed, replayedText);
    }
    case 'tail':
      await tail(target, { fromStart: command.fromStart, json: invocation.json, signal, print: (line) => process.stdout.write(`${line}\n`) }, clients.logs);
      return undefined;
  }
}

/** An SDK error (`name` is AWS's error code) or a network failure, as one line. */
function describe(error: unknown): { code: string; message: string } {
  if (error instanceof OpsError || error instanceof UsageError) return { code: error.code, message: error.message };
  const { name, message } = error as Error;
  if ((error as { code?: string }).code === 'ECONNREFUSED') {
    return { code: 'unreachable', message: `${message}: is the sandbox running (npm start), or are --endpoint-url / --stage right?` };
  }
  return { code: name || 'Error', message };
}

async function main(): Promise<number> {
  let json = process.argv.includes('--json');
  const fail = (code: number, error: { code: string; message: string }, usage: boolean): number => {
    process.stderr.write(
      json
        ? `${JSON.stringify({ error })}\n`
        : `priority-dispatch: ${error.message}\n${usage ? 'npx priority-dispatch --help lists the commands and options\n' : ''}`,
    );
    return code;
  };
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  try {
    const invocation = parseOpsArgs(process.argv.slice(2), process.env);
    json = invocation.json;
    const answer = await run(invocation, stop.signal);
    if (answer) process.stdout.write(`${json ? JSON.stringify(answer.data, null, 2) : answer.text}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) return fail(EXIT.usage, describe(error), true);
    return fail(EXIT.failed, describe(error), false);
  }
}

process.exitCode = await main();
