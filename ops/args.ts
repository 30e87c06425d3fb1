/**
 * `npx priority-dispatch <group> <action> [options]`: the command line as data. Pure: cli.ts prints what this
 * throws (a UsageError, exit 2) with the usage text.
 */
import { parseArgs } from 'node:util';
import { STATES, type BookingState } from '../lambdas/domain/lifecycle';
import { MECHANIC_STATUSES, type MechanicStatus } from '../lambdas/domain/mechanic';
import { LIST_CAP, LIST_VISIBILITY_SECONDS } from './dead-letters';
import { UsageError } from './errors';
import type { TargetOptions } from './target';

export const USAGE = `Usage: npx priority-dispatch <command> [options]

Commands (each says what it reads or writes):
  flag status                 read the feature flag ENABLE_FAVORITES_PRIORITY (SSM GetParameter)
  flag on | flag off          set it (SSM PutParameter --overwrite); handlers see it within their cache TTL (10 s)
  mechanics put <id> --status approved|pending|suspended [--name <name>] [--workshop <id>]
                              register or update a mechanic (the admin route PUT /mechanics/{id} of the HTTP API)
  mechanics list              every mechanic (DynamoDB Scan of the table: mechanics have no index)
  requests list [--state <state>] [--audience <key> | --customer <id>]
                              bookings and their requests, newest first:
                                --audience everyone|mechanic#<id>|workshop#<id>: the pending ones offered to it
                                  (Query of the pending-by-audience index; nothing is scanned)
                                --customer <id>: that customer's bookings (Query of bookings-by-customer)
                                neither: every booking (DynamoDB Scan of the whole table: fine in the sandbox,
                                  costly on a big table)
                              --state keeps those in one state: ${STATES.join(', ')}
  requests show <id>          one booking with its request and audit trail (DynamoDB GetItem);
                              <id> is a session id or a request id (req-…)
  dead-letters list           what reached the dead-letter queue (sandbox: GET /dev/dead-letters; a stage: SQS
                              ReceiveMessage, up to ${LIST_CAP}, which hides the listed messages from other readers
                              and from the DLQ alarm for ${LIST_VISIBILITY_SECONDS} s: SQS cannot peek)
  dead-letters replay <message-id>… | --all
                              invoke each letter's function again, asynchronously, with its event (Lambda Invoke,
                              InvocationType Event); only once Lambda accepted it is the letter deleted
                              (a stage: SQS DeleteMessage)
  tail [--from-start]         follow the functions' log lines, one readable line each, until Ctrl-C
                              (sandbox: GET /dev/logs; a stage: CloudWatch Logs FilterLogEvents on each log group
                              of the LogGroupNames output, a few seconds behind); --from-start prints every line
                              since the sandbox started, or a stage's last hour

Target (default: the sandbox of \`npm start\`):
  --endpoint-url <url>        the AWS endpoint (default http://127.0.0.1:4566, the sandbox's)
  --http-url <url>            the HTTP API (default http://127.0.0.1:3000)
  --stage <name>              a deployed stack, PriorityDispatch-<name>, with your AWS credentials (default chain)
  --outputs <file>            its outputs from a file instead of CloudFormation DescribeStacks (the default):
                              \`cdk deploy --outputs-file <file>\` or
                              \`aws cloudformation describe-stacks --stack-name PriorityDispatch-<name>\` saved as JSON
  --region <region>           AWS region (default AWS_REGION, AWS_DEFAULT_REGION)
  --admin-token <jwt>         admin-scope token for mechanics put (env PRIORITY_DISPATCH_ADMIN_TOKEN;
                              the sandbox mints one when none is given)

Output:
  --json                      machine-readable JSON on stdout (tail: one JSON object per line);
                              errors as {"error":{"code","message"}} on stderr
  --help                      this text

Exit codes: 0 done; 1 the operation failed (not found, refused, an AWS or HTTP error); 2 usage error.`;

export type Command =
  | { name: 'help' }
  | { name: 'flag status' }
  | { name: 'flag set'; on: boolean }
  | { name: 'mechanics put'; id: string; status: MechanicStatus; displayName?: string; workshopId?: string }
  | { name: 'mechanics list' }
  | { name: 'requests list'; state?: BookingState; audience?: string; customer?: string }
  | { name: 'requests show'; id: string }
  | { name: 'dead-letters list' }
  | { name: 'dead-letters replay'; ids: readonly string[]; all: boolean }
  | { name: 'tail'; fromStart: boolean };

export interface Invocation {
  command: Command;
  target: TargetOptions;
  json: boolean;
}

const TARGET_OPTIONS = ['endpoint-url', 'http-url', 'stage', 'outputs', 'region', 'admin-token'] as const;
/** The options each command takes besides the target and output ones. */
const COMMAND_OPTIONS: Record<Command['name'], readonly string[]> = {
  help: [],
  'flag status': [],
  'flag set': [],
  'mechanics put': ['status', 'name', 'workshop'],
  'mechanics list': [],
  'requests list': ['state', 'audience', 'customer'],
  'requests show': [],
  'dead-letters list': [],
  'dead-letters replay': ['all'],
  tail: ['from-start'],
};

export function parseOpsArgs(args: readonly string[], env: NodeJS.ProcessEnv): Invocation {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        ...Object.fromEntries(TARGET_OPTIONS.map((name) => [name, { type: 'string' as const }])),
        json: { type: 'boolean' },
        help: { type: 'boolean' },
        status: { type: 'string' },
        name: { type: 'string' },
        workshop: { type: 'string' },
        state: { type: 'string' },
        audience: { type: 'string' },
        customer: { type: 'string' },
        all: { type: 'boolean' },
        'from-start': { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const json = values.json === true;
  const target: TargetOptions = {
    endpointUrl: values['endpoint-url'] as string | undefined,
    httpUrl: values['http-url'] as string | undefined,
    stage: values.stage as string | undefined,
    outputs: values.outputs as string | undefined,
    region: (values.region as string | undefined) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    adminToken: (values['admin-token'] as string | undefined) ?? env.PRIORITY_DISPATCH_ADMIN_TOKEN,
  };
  if (values.help || positionals.length === 0) return { command: { name: 'help' }, target, json };

  const command = commandOf(positionals, values);
  const allowed = new Set<string>([...TARGET_OPTIONS, 'json', 'help', ...COMMAND_OPTIONS[command.name]]);
  const stray = Object.keys(values).find((name) => !allowed.has(name));
  if (stray) throw new UsageError(`--${stray} does not apply to "${positionals.slice(0, 2).join(' ')}"`);
  return { command, target, json };
}

function commandOf(positionals: readonly string[], values: Record<string, string | boolean | undefined>): Command {
  const [group, action, ...rest] = positionals;
  const text = (name: string): string | undefined => values[name] as string | undefined;
  const noMore = (command: Command, extra: readonly string[] = rest): Command => {
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" after "${group} ${action}"`);
    return command;
  };
  const oneId = (what: string): string => {
    if (rest.length === 0) throw new UsageError(`"${group} ${action}" needs ${what}`);
    noMore({ name: 'help' }, rest.slice(1));
    return rest[0]!;
  };
  switch (`${group} ${action ?? ''}`.trim()) {
    case 'help':
      return noMore({ name: 'help' }, positionals.slice(1));
    case 'flag status':
      return noMore({ name: 'flag status' });
    case 'flag on':
    case 'flag off':
      return noMore({ name: 'flag set', on: action === 'on' });
    case 'mechanics put': {
      const id = oneId('a mechanic id');
      const status = text('status');
      if (status === undefined) throw new UsageError('"mechanics put" needs --status approved|pending|suspended');
      return {
        name: 'mechanics put',
        id,
        status: oneOf('--status', status, MECHANIC_STATUSES),
        displayName: text('name'),
        workshopId: text('workshop'),
      };
    }
    case 'mechanics list':
      return noMore({ name: 'mechanics list' });
    case 'requests list': {
      const state = text('state');
      if (values.audience !== undefined && values.customer !== undefined) throw new UsageError('--audience and --customer read different indexes: give one');
      const audience = text('audience');
      if (audience !== undefined && !/^(everyone|mechanic#.+|workshop#.+)$/.test(audience)) {
        throw new UsageError(`--audience must be everyone, mechanic#<id> or workshop#<id>, not "${audience}"`);
      }
      return noMore({ name: 'requests list', state: state === undefined ? undefined : oneOf('--state', state, STATES), audience, customer: text('customer') });
    }
    case 'requests show':
      return { name: 'requests show', id: oneId('a session id or request id') };
    case 'dead-letters list':
      return noMore({ name: 'dead-letters list' });
    case 'dead-letters replay': {
      const all = values.all === true;
      if (all === rest.length > 0) throw new UsageError('"dead-letters replay" needs message ids or --all (not both)');
      return { name: 'dead-letters replay', ids: rest, all };
    }
    case 'tail':
      return noMore({ name: 'tail', fromStart: values['from-start'] === true }, positionals.slice(1));
    default:
      throw new UsageError(`unknown command "${positionals.join(' ')}"`);
  }
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${option} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}
