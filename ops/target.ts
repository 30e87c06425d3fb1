/**
 * Where a command goes: the sandbox of `npm start` (default), or a deployed stage with the user's credentials.
 * Pure: cli.ts reads the outputs file, or asks CloudFormation (DescribeStacks), and passes the JSON in;
 * everything else derives from contract/naming.ts.
 */
import { flagParameterName, functionName, SANDBOX_DEFAULTS, sandboxTableName, STACK_OUTPUTS, stackName } from '../contract/naming';
import { OpsError, UsageError } from './errors';

export interface TargetOptions {
  endpointUrl?: string;
  httpUrl?: string;
  stage?: string;
  /** `--outputs <file>`: the stack outputs file. */
  outputs?: string;
  region?: string;
  adminToken?: string;
}

export interface Target {
  mode: 'sandbox' | 'aws';
  stage: string;
  region: string;
  /** The AWS endpoint every client uses; undefined = AWS's own. */
  endpoint?: string;
  /** The sandbox's operator key; undefined = the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  flagParameterName: string;
  /** Undefined when a stage's outputs were not given: the commands that need them say so. */
  httpUrl?: string;
  tableName?: string;
  deadLetterQueueUrl?: string;
  /** The functions' log groups (a stage's only: the sandbox serves its lines itself). */
  logGroupNames?: string[];
  adminToken?: string;
  /** The asynchronously invoked functions have fixed names in the stack as in the sandbox. */
  functionName: (name: string) => string;
}

export function sandboxTarget(options: TargetOptions): Target {
  const stage = SANDBOX_DEFAULTS.stage;
  return {
    mode: 'sandbox',
    stage,
    region: SANDBOX_DEFAULTS.region,
    endpoint: options.endpointUrl ?? SANDBOX_DEFAULTS.awsUrl,
    // The operator's key README "Operate the sandbox" documents: DynamoDB, SSM, Scheduler and Lambda take any.
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    flagParameterName: flagParameterName(stage),
    httpUrl: trimSlash(options.httpUrl ?? SANDBOX_DEFAULTS.httpUrl),
    tableName: sandboxTableName(stage),
    adminToken: options.adminToken,
    functionName: (name) => functionName(stage, name),
  };
}

/** A stage's region: the SDK would find none by itself, since the CLI names it for every client. */
export function stageRegion(options: TargetOptions & { stage: string }): string {
  if (!options.region) throw new UsageError(`--stage ${options.stage} needs a region: --region, or AWS_REGION in the environment`);
  return options.region;
}

/** A deployed stage: names from contract/naming.ts, the rest from the stack's outputs (`outputs` = `outputsOf(…)`). */
export function stageTarget(options: TargetOptions & { stage: string }, outputs: Readonly<Record<string, string>> = {}): Target {
  return {
    mode: 'aws',
    stage: options.stage,
    region: stageRegion(options),
    endpoint: options.endpointUrl,
    flagParameterName: outputs[STACK_OUTPUTS.flagParameterName] ?? flagParameterName(options.stage),
    httpUrl: options.httpUrl ?? (outputs[STACK_OUTPUTS.httpApiUrl] && trimSlash(outputs[STACK_OUTPUTS.httpApiUrl])),
    tableName: outputs[STACK_OUTPUTS.tableName],
    deadLetterQueueUrl: outputs[STACK_OUTPUTS.deadLetterQueueUrl],
    logGroupNames: outputs[STACK_OUTPUTS.logGroupNames]?.split(','),
    adminToken: options.adminToken,
    functionName: (name) => functionName(options.stage, name),
  };
}

/**
 * The stack's outputs from either file ops have at hand: `cdk deploy --outputs-file` (`{"<stack>": {"Key": "value"}}`)
 * or `aws cloudformation describe-stacks` (`{"Stacks": [{"Outputs": [{"OutputKey", "OutputValue"}]}]}`), which is
 * also what the SDK's DescribeStacksCommand answers.
 */
export function outputsOf(json: unknown, stage: string): Record<string, string> {
  const stack = stackName(stage);
  const described = (json as { Stacks?: { StackName?: string; Outputs?: { OutputKey?: string; OutputValue?: string }[] }[] })?.Stacks;
  if (Array.isArray(described)) {
    const found = described.find((entry) => entry.StackName === undefined || entry.StackName === stack);
    if (!found) throw new OpsError('outputs_not_found', `the outputs file describes no stack named ${stack}`);
    return Object.fromEntries((found.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  }
  const cdkOutputs = (json as Record<string, unknown> | null)?.[stack];
  if (typeof cdkOutputs !== 'object' || cdkOutputs === null) {
    throw new OpsError('outputs_not_found', `the outputs file has no entry for the stack ${stack} (expected cdk's --outputs-file or describe-stacks JSON)`);
  }
  return Object.fromEntries(Object.entries(cdkOutputs).map(([key, value]) => [key, String(value)]));
}

/** A value the command needs that this target lacks: exit 1, naming the output that gives it. */
export function need<K extends 'httpUrl' | 'tableName' | 'deadLetterQueueUrl' | 'logGroupNames'>(target: Target, key: K): NonNullable<Target[K]> {
  const value = target[key];
  if (value) return value as NonNullable<Target[K]>;
  const output = {
    httpUrl: STACK_OUTPUTS.httpApiUrl,
    tableName: STACK_OUTPUTS.tableName,
    deadLetterQueueUrl: STACK_OUTPUTS.deadLetterQueueUrl,
    logGroupNames: STACK_OUTPUTS.logGroupNames,
  }[key];
  throw new OpsError('missing_output', `the stack's outputs lack ${output}: deploy the stack again (that adds it), or give a newer --outputs file`);
}

/**
 * DescribeStacks on a stack that does not exist fails with a `ValidationError` whose message says
 * "Stack with id <name> does not exist" (CloudFormation has no dedicated error code for it).
 */
export const isMissingStack = (error: unknown): boolean => (error as Error)?.name === 'ValidationError' && /does not exist/.test((error as Error).message);

const trimSlash = (url: string): string => url.replace(/\/+$/, '');
