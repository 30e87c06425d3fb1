/**
 * What `npm start` prints once the sandbox is up: one 80×24 screen of where
 * things are, what it runs with and how to get a token. Tokens themselves are
 * not printed (six JWTs were about 60 wrapped lines); anyone can mint one.
 */
import { DEFAULT_PRIORITY_WINDOW_SECONDS, DEFAULT_REQUEST_TTL_SECONDS } from '../contract/env';
import type { Sandbox, SandboxOptions } from './index';

export interface BannerInput {
  readonly sandbox: Pick<Sandbox, 'httpUrl' | 'wsUrl' | 'connectionsEndpoint' | 'awsUrl' | 'flagParameterName' | 'stage' | 'dataDir' | 'demo'>;
  readonly options: Pick<SandboxOptions, 'priorityWindowSeconds' | 'requestTtlSeconds' | 'schedulerPrecision' | 'throttles'>;
  readonly flagOn: boolean;
  readonly startedInSeconds: number;
  /** The web console's address (omitted: nothing is printed for it). */
  readonly consoleUrl?: string;
}

export function banner({ sandbox, options, flagOn, startedInSeconds, consoleUrl }: BannerInput): string {
  const window = options.priorityWindowSeconds ?? DEFAULT_PRIORITY_WINDOW_SECONDS;
  const ttl = options.requestTtlSeconds ?? DEFAULT_REQUEST_TTL_SECONDS;
  const tokenUrl = `${sandbox.httpUrl}/dev/token`;
  const unlikeAws = [
    ...(options.schedulerPrecision === 'exact' ? ['schedules fire at their time (AWS: within its minute)'] : []),
    ...(options.throttles === 'off' ? ['no route throttles'] : []),
  ];
  const mechanics = sandbox.demo.mechanics.map((m) => `  ${m.id.padEnd(11)} ${m.status.padEnd(9)} ${(m.workshop_id ?? '').padEnd(12)} ${m.name}`.trimEnd());
  const lines = [
    `priority-dispatch sandbox is up in ${startedInSeconds.toFixed(1)} s (stage "${sandbox.stage}")`,
    ...(consoleUrl ? [`  Console        ${consoleUrl}`] : []),
    `  HTTP API       ${sandbox.httpUrl}`,
    `  WebSocket API  ${sandbox.wsUrl}?ticket=<from POST /ws/ticket> (or ?token=<JWT>)`,
    `  @connections   ${sandbox.connectionsEndpoint}/@connections/{id}`,
    `  AWS endpoint   ${sandbox.awsUrl} (dynamodb, ssm, scheduler, lambda, cloudwatch)`,
    `  Flag           ${sandbox.flagParameterName} = ${flagOn}`,
    `  Window         ${window} s per favorite; an open request expires after ${ttl} s`,
    // Only what differs from AWS: `exact` is what makes a short demo window end on time.
    ...(unlikeAws.length ? [`  Unlike AWS     ${unlikeAws.join('; ')}`] : []),
    '',
    `Demo customer ${sandbox.demo.customerId}; demo mechanics:`,
    ...mechanics,
    '',
    'A token for any sub (valid 12 h; "scope":"admin" for PUT /mechanics/{id}):',
    `  curl -s ${tokenUrl} -d '{"sub":"mech-alice"}'`,
    `  curl -s ${tokenUrl} -d '{"sub":"ops","scope":"admin"}'`,
    'A walk-through: README "Try it". All options: npm start -- --help',
    `Ctrl-C stops it; state stays in ${sandbox.dataDir ?? 'memory (gone on exit)'}.`,
  ];
  return lines.join('\n');
}
