/**
 * The accept storm, against its floor in the same run. Each sample: a
 * broadcast booking reaches all N connected mechanics, then all N send
 * `accept` at once and the time to the last `accept_result` is taken (in the
 * fleet, from its first send); exactly one must be `ok`. The next sample waits
 * until the fan-out has told the N−1 others it is taken, so runs never
 * overlap. The floor: the same fleet (its own sockets) sending a frame of the
 * same size at once to a plain `ws` echo server in this process, to the last
 * echo. Issue #9: 1,000 simultaneous accepts all answered within 2 s.
 * `node --import tsx bench/accept-storm.ts [--quick] [--mechanics N] [--runs N]`,
 * or `acceptStorm()` from the bench runner.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocketServer } from 'ws';
import type { Sandbox } from '../sandbox/index';
import { registerApprovedMechanics, startBenchSandbox } from './crowd';
import { LineProcess, spawnRaised } from './processes';
import { type Stat, stat } from './stats';

/** Milliseconds: a median with its min and max over the runs. */
export type { Stat };

export interface AcceptStormResult {
  /** All N accepts sent at once → the last `accept_result` received. */
  storm: Stat;
  /** All N echo sockets sending a frame of the accept's size at once → the last echo received (plain `ws`, no sandbox). */
  floor: Stat;
  /** How many accepts were answered `ok`, per run: each must be 1. */
  winners: number[];
  /**
   * CPU the sandbox's process (all its threads: gateways, DynamoDB, Lambda containers) used from the first
   * accept sent to the last answer, per run: steadier than wall time on a machine others are using.
   */
  sandboxCpu: Stat;
}

/** The figures for the quick run (`--quick`): small enough for a loaded CI machine. */
export const QUICK = { mechanics: 200, runs: 3 } as const;
export const FULL = { mechanics: 1000, runs: 5 } as const;

export async function acceptStorm(options: { mechanics: number; runs: number }): Promise<AcceptStormResult> {
  const sandbox = await startBenchSandbox();
  const echo = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  echo.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  let fleet: LineProcess | undefined;
  try {
    const customer = await sandbox.token({ sub: 'customer-storm' });
    const tokens = await registerMechanics(sandbox, options.mechanics);
    fleet = new LineProcess(spawnRaised([fileURLToPath(new URL('./fleet.mjs', import.meta.url))]), 'fleet');
    await fleet.command({ url: sandbox.wsUrl, tokens, track: true }, 'connected', 1_800_000);
    await new Promise<void>((resolve) => (echo.address() ? resolve() : echo.once('listening', resolve)));
    const { port } = echo.address() as { port: number };
    await fleet.command({ echoConnect: `ws://127.0.0.1:${port}` }, 'echo-connected', 600_000);

    const sample = async (): Promise<{ storm: number; winners: number; floor: number; cpu: number }> => {
      const requestId = await bookBroadcast(sandbox, customer);
      await fleet!.command({ wait: 'new_request', request_id: requestId }, 'have');
      // A frame of the accept's own size, answered by a server that does nothing but echo.
      const { ms: floor } = JSON.parse(await fleet!.command({ echo: JSON.stringify({ action: 'accept', request_id: requestId }) }, 'echoed')) as {
        ms: number;
      };
      const cpuBefore = process.cpuUsage();
      const answered = JSON.parse(await fleet!.command({ accept: requestId }, 'accepted')) as { ms: number; ok: number[]; reasons: Record<string, number> };
      const cpu = process.cpuUsage(cpuBefore);
      const others = Object.entries(answered.reasons).filter(([reason]) => reason !== 'already_matched');
      if (others.length) throw new Error(`accepts refused for other reasons than already_matched: ${JSON.stringify(answered.reasons)}`);
      // Everyone but the winner hears it is taken: then this booking's fan-out is over (no winner: nothing to wait for).
      if (answered.ok.length > 0) await fleet!.command({ wait: 'request_taken', request_id: requestId, count: options.mechanics - answered.ok.length }, 'have');
      return { storm: answered.ms, winners: answered.ok.length, floor, cpu: (cpu.user + cpu.system) / 1000 };
    };

    // One storm first, not counted: the accept path's containers start (cold starts) as the first storm meets them.
    await sample();
    const samples: Awaited<ReturnType<typeof sample>>[] = [];
    for (let run = 0; run < options.runs; run++) samples.push(await sample());
    return {
      storm: stat(samples.map((s) => s.storm)),
      floor: stat(samples.map((s) => s.floor)),
      winners: samples.map((s) => s.winners),
      sandboxCpu: stat(samples.map((s) => s.cpu)),
    };
  } finally {
    await fleet?.stop();
    await new Promise((resolve) => echo.close(resolve));
    await sandbox.stop();
  }
}

async function bookBroadcast(sandbox: Sandbox, customer: string): Promise<string> {
  const response = await fetch(`${sandbox.httpUrl}/intake/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${customer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ plan: 'free', concern: 'Storm booking' }),
  });
  const body = (await response.json()) as { request_id?: string };
  if (response.status !== 201 || !body.request_id) throw new Error(`intake answered ${response.status}: ${JSON.stringify(body)}`);
  return body.request_id;
}

/** Approved mechanics, and a token for each. */
async function registerMechanics(sandbox: Sandbox, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `mech-storm-${i}`);
  await registerApprovedMechanics(sandbox, ids);
  return Promise.all(ids.map((id) => sandbox.token({ sub: id })));
}

/** Alone: `node --import tsx bench/accept-storm.ts [--quick] [--mechanics N] [--runs N]`. */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const flag = (name: string): number | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? Number(argv[at + 1]) : undefined;
  };
  const size = argv.includes('--quick') ? QUICK : FULL;
  const mechanics = flag('--mechanics') ?? size.mechanics;
  const runs = flag('--runs') ?? size.runs;
  const result = await acceptStorm({ mechanics, runs });
  console.log('| figure | median ms | min | max |');
  console.log('|---|---|---|---|');
  console.log(`| ${mechanics} simultaneous accepts → the last accept_result | ${result.storm.median} | ${result.storm.min} | ${result.storm.max} |`);
  console.log(`| floor: ${mechanics} ws echo round trips, plain ws server | ${result.floor.median} | ${result.floor.min} | ${result.floor.max} |`);
  const perAccept = (ms: number) => Math.round((ms / mechanics) * 100) / 100;
  console.log(
    `| sandbox CPU per accept (all threads) | ${perAccept(result.sandboxCpu.median)} | ${perAccept(result.sandboxCpu.min)} | ${perAccept(result.sandboxCpu.max)} |`,
  );
  const oneWinner = result.winners.every((n) => n === 1);
  console.log(
    `ratio (median / floor): ${Math.round((result.storm.median / result.floor.median) * 10) / 10}×; goal: all answered ≤ 2000 ms; winners per run: ${result.winners.join(', ')}${oneWinner ? '' : ' (each must be 1)'}`,
  );
  if (!oneWinner) process.exitCode = 1;
}
