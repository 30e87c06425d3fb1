/** What `npm run bench` writes: bench/results.json (everything) and docs/BENCHMARKS.md (a table, then how each figure is measured). */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PathCalls } from './aws-calls';
import { round, type Stat } from './stats';

const ROOT = resolve(import.meta.dirname, '..');

export type FigureKind = 'broadcast' | 'broadcast-cpu' | 'push-cpu' | 'accept-storm' | 'offer' | 'fallback' | 'bundle-import' | 'intake';

export interface Figure {
  /** Stable key, e.g. `broadcast-10000`. */
  id: string;
  kind: FigureKind;
  title: string;
  unit: 'ms' | 'µs';
  /** How many runs (or samples) the median is of. */
  runs: number;
  value: Stat;
  floor?: Stat & { what: string };
  /** value.median / floor.median. */
  ratio?: number;
  goal?: { text: string; pass: boolean };
  /** The issue's figure, measured before this work (issue #9). */
  before?: string;
  note?: string;
}

export interface Results {
  date: string;
  quick: boolean;
  only: string[] | null;
  seconds: number;
  machine: { cores: number; cpu: string; memoryGiB: number; node: string; platform: string; fdLimit: number; loadAverage: { start: number[]; end: number[] } };
  figures: Figure[];
  awsCalls: PathCalls[];
  /** What was asked for and not measured, and why. */
  missing: string[];
}

export function withFloor(figure: Omit<Figure, 'ratio'>): Figure {
  return figure.floor ? { ...figure, ratio: round(figure.value.median / figure.floor.median, 2) } : figure;
}

const show = (value: number, unit: Figure['unit']): string => {
  if (unit === 'µs') return `${Math.round(value)} µs`;
  return value >= 1000 ? `${round(value / 1000, 2)} s` : `${value} ms`;
};

export function writeResults(results: Results): void {
  const json = resolve(ROOT, 'bench/results.json');
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  // In the project's own format (short arrays on one line), so `npm run lint` passes on a fresh result.
  spawnSync(resolve(ROOT, 'node_modules/.bin/biome'), ['format', '--write', json], { stdio: 'ignore' });
  writeFileSync(resolve(ROOT, 'docs/BENCHMARKS.md'), markdown(results));
}

function markdown(r: Results): string {
  const m = r.machine;
  const lines = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts); edits here are overwritten. -->',
    '',
    `\`npm run bench${r.quick ? ' -- --quick' : ''}${r.only ? ` -- --only ${r.only.join(',')}` : ''}\` on ${r.date}: ${m.cores} cores (${m.cpu}), ` +
      `${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, file limit ${m.fdLimit} per process; ${r.seconds} s in all. ` +
      `Load average ${m.loadAverage.start.join(' / ')} at the start and ${m.loadAverage.end.join(' / ')} at the end (1 / 5 / 15 min): ` +
      'the machine is shared, so read the figures against their floors, measured in the same run, more than as absolutes.' +
      (r.quick ? ' **Quick run**: smaller sizes and fewer runs than the full one; a figure at another size than its goal shows no pass/fail.' : ''),
    '',
    '| figure | median | min | max | floor (median) | × floor | goal | | before (issue #9) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...[...r.figures]
      .sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind))
      .map(
        (f) =>
          `| ${f.title} (${f.runs} ${f.kind === 'intake' ? 'samples' : 'runs'}) | ${show(f.value.median, f.unit)} | ${show(f.value.min, f.unit)} | ${show(f.value.max, f.unit)} | ` +
          `${f.floor ? `${show(f.floor.median, f.unit)}: ${f.floor.what}` : '—'} | ${f.ratio ?? '—'} | ${f.goal?.text ?? '—'} | ` +
          `${f.goal ? (f.goal.pass ? 'pass' : '**fail**') : ''} | ${f.before ?? '—'} |`,
      ),
    '',
  ];
  const notes = r.figures.filter((f) => f.note).map((f) => `- ${f.title}: ${f.note}`);
  if (notes.length) lines.push(...notes, '');
  if (r.awsCalls.length) {
    lines.push(
      '## AWS calls per path',
      '',
      'Counted by the sandbox for each finished invocation (every SDK call, and every push, by operation).',
      '',
      '| path | mechanics connected | invocations | calls | by operation |',
      '| --- | --- | --- | --- | --- |',
      ...r.awsCalls.map(
        (c) =>
          `| ${c.path} | ${c.mechanics} | ${c.invocations} | ${c.total} | ${Object.entries(c.calls)
            .map(([op, n]) => `${op} ${n}`)
            .join(', ')} |`,
      ),
      '',
    );
  }
  if (r.missing.length) lines.push('## Not measured in this run', '', ...r.missing.map((m) => `- ${m}`), '');
  lines.push('## How each figure is measured', '', ...HOW.map((p) => `${p}\n`));
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The table's order: the scale targets first, the bundles' many rows last (the run's order is another: CPU first). */
const ORDER: FigureKind[] = ['broadcast', 'broadcast-cpu', 'intake', 'offer', 'accept-storm', 'fallback', 'push-cpu', 'bundle-import'];

/** One paragraph per figure: what is timed, from where to where, and its floor. */
const HOW = [
  '**Where it runs.** One process (`bench/run.ts`) holds the sandbox (`startSandbox`: in memory, free ports, no seed, nothing printed, ' +
    'flag on, Scheduler precision `exact`, a 2-second priority window, requests open for 6 h). The mechanics are WebSocket clients in ' +
    '`bench/fleet.mjs` child processes, each started through `sh` with its file limit raised to the hard limit, and split over as many ' +
    'processes as 2 sockets per mechanic need. Every mechanic has a twin socket, in the same fleet process, on a plain `ws` server in a ' +
    'process of its own (`bench/plain-ws.ts`): the floors go through it. The crowd grows in steps (0, 50, 1,000, 2,000, then 10,000 mechanics; ' +
    'quick: 0, 50, 1,000), since connecting 10,000 mechanics through the `$connect` authorizer takes minutes, and each figure is measured ' +
    'at its step. Times across processes are epoch milliseconds from `performance.timeOrigin + performance.now()`, the same clock on one ' +
    'machine. Runs before the counted ones start the containers and warm their code (each Lambda container, here as in AWS, runs ' +
    'its own copy of the bundle, which the JIT compiles for itself after some invocations): 5 broadcasts at each step, 10 rounds of 20 ' +
    "priority bookings, 30 intakes; so the figures are a running marketplace's, not a cold start's. Medians, with min and max, over the runs shown.",
  '**Broadcast to N connected mechanics** (`bench/broadcast.ts`): from just before `POST /intake/start` of a booking without a ' +
    'favorite to the moment the last of the N mechanics received its `new_request` (the intake, the hand-over to the fan-out, the shard ' +
    'runs, every push). Floor, run for run: the same message bytes POSTed to the plain server, which sends them to its N sockets ' +
    '(`socket.send` in a loop: a plain `ws` broadcast), to the last receipt, in the same fleet processes. Goals (issue #9): 10,000 in ' +
    '≤ 1.5 s and ≤ 8× its floor; 1,000 in ≤ 150 ms.',
  '**CPU per message of a broadcast** (`bench/broadcast.ts`, the same runs): the CPU used from the POST to the last receipt, divided by ' +
    "the mechanics reached: this process's (the sandbox: HTTP API, DynamoDB, every Lambda container thread, the WebSocket gateway's " +
    "thread, the `@connections` endpoint with its SigV4 check) plus the fleet processes' (receiving). Floor: the plain server's plus the " +
    "same fleet processes' over the floor's broadcast. On C cores, N messages at this CPU each cannot be delivered in less than " +
    "N × CPU ÷ C, however well scheduled: the row's note gives that bound for its size, the least the broadcast row above could show.",
  '**CPU per push** (`bench/push-cpu.ts`): `process.cpuUsage()` of the client process (all its threads) over N pushes of a ' +
    '`new_request`, 64 in flight as the fan-out sends them, to a keep-alive HTTP server in another process that answers 200 as ' +
    '`@connections` does (its CPU is not counted). Three clients, interleaved in each run: the SDK `PostToConnection` ' +
    '(`@aws-sdk/client-apigatewaymanagementapi`, given the same keep-alive agent), ours (`SignedConnectionsPusher`: SigV4 by hand), and ' +
    'the floor, a raw keep-alive POST without a signature. Goal: ours ≤ 150 µs.',
  '**Accept storm** (`bench/accept-storm.ts`): N mechanics, all holding a broadcast request, send `accept` at once; timed in the fleet ' +
    'from the first send to the last `accept_result`; exactly one must win. Floor: the same sockets send a frame of the same size to a ' +
    'plain `ws` echo server, to the last echo. Goal: 1,000 accepts all answered in ≤ 2 s.',
  "**Favorite's offer** (`bench/offer-latency.ts`): 20 priority bookings POSTed at once, each naming another connected favorite; each " +
    "one's latency runs from just before its POST to its favorite's `priority_session_request` (the offer message of DESIGN §3), and a " +
    "run's figure is the p99 of its 20 (nearest rank: the slowest). The favorites then accept, so nothing lapses into a fallback. Floor, " +
    "run for run: the same 20 offers POSTed at once to the plain server, each sent on to its favorite's twin socket: one loopback HTTP " +
    'round trip plus one WebSocket frame, with no authorizer, Lambda or DynamoDB: the least a POST-triggered push costs here. Goal: ' +
    "p99 ≤ 60 ms. The row's note gives the sandbox's CPU per priority booking in the same runs (customer tokens minted beforehand), " +
    'and what 20 of them take of all cores.',
  '**Fallback** (`bench/fallback.ts`): a priority booking whose favorite stays silent; the 2-second window lapses, the request timer ' +
    'opens it to everyone, and the figure is the last of the 50 connected mechanics (the favorite included) to receive the fallback ' +
    '`new_request`, minus the `expires_at` the favorite was offered (server time). A window under a minute arms the timer for "now" and ' +
    'the timer function waits for the deadline inside its invocation, the same wait a 10-minute window ends with under AWS precision ' +
    '(README, scheduler precision), so a short window measures the same end. Runs one at a time. Floor: the fallback message broadcast to ' +
    '50 sockets by the plain server. Goal: DESIGN §1, a window ends no later than 1 s after `expires_at`, judged on the slowest run.',
  '**Fresh import of a function bundle** (`bench/bundle-import.ts`): each function built as the stack builds it (esbuild with the ' +
    "stack's bundling options), then loaded by a fresh Node process as Lambda's runtime loads it, timed from spawn to exit. Floor: an " +
    "empty module loaded the same way (Node's own start-up). Runs interleave the floor and every bundle. Goal: within 2× the floor.",
  '**Intake latency while a broadcast runs** (`bench/intake-latency.ts`): each sample books a broadcast, waits 50 ms, then times a ' +
    "second booking's `POST /intake/start` while the first one's fan-out pushes, and waits until both reached everyone. The floor is the " +
    'same series with no mechanic connected, in the same sandbox, before any connects, after 30 bookings that warm the path (with ' +
    "fewer, the floor still carried the young containers' JIT warm-up and came out above the loaded figure). Goal (issue #8): ≤ 2× the floor.",
  '**AWS calls per path** (`bench/aws-calls.ts`): the sandbox records every finished invocation with its SDK calls (and pushes) by ' +
    'operation; each path is driven once and the invocations of its function summed, as `test/e2e/aws-calls.test.ts` does. The broadcast ' +
    'booking is counted with no mechanic connected and with the whole crowd: the request path does not grow with the crowd.',
];
