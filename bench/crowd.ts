/**
 * The bench's world: one sandbox, N connected mechanics in fleet processes
 * (bench/fleet.mjs), and for every mechanic a twin socket, in the same fleet
 * process, on a plain `ws` server (bench/plain-ws.ts) — the floor. A figure
 * times something through the sandbox, then the same delivery to the same
 * number of sockets, in the same processes, through the plain server.
 *
 * One sandbox serves every figure that needs mechanics, growing the crowd in
 * steps (0, 50, 1,000, 10,000), because connecting 10,000 mechanics through
 * the `$connect` authorizer takes minutes on 2 cores: doing it once is what
 * makes a full run affordable. The priority window is short (FALLBACK_WINDOW_SECONDS)
 * and Scheduler's precision `exact`, so the fallback figure takes seconds, not
 * ten minutes; every other request ends (accepted) or is open well before it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from '../lambdas/adapters/dynamodb-keys';
import { type Sandbox, type SandboxOptions, startSandbox } from '../sandbox/index';
import { childFdLimit, LineProcess, spawnRaised } from './processes';
import { epochNow } from './stats';

/** Priority window of the bench's sandbox: short, so a lapsed window (the fallback figure) comes within seconds. */
export const FALLBACK_WINDOW_SECONDS = 2;
/** Files a fleet process keeps besides its sockets (stdio, libuv, the module files). */
const FD_RESERVE = 200;

/** Where a mechanic's sockets live: its fleet process, and its sandbox socket's index there (its twin is found by label). */
interface Seat {
  fleet: number;
  sandbox: number;
}

export interface Arrival {
  /** Epoch ms (bench/stats.ts `epochNow`), comparable across the bench's processes. */
  first: number;
  last: number;
  /** The first message's text, as the mechanic received it. */
  sample: string;
}

export interface Booking {
  requestId: string;
  sessionId: string;
  customerToken: string;
  /** Epoch ms just before the POST and once its answer was read. */
  postedAt: number;
  answeredAt: number;
}

export class Crowd {
  readonly mechanics: string[] = [];
  private readonly seats: Seat[] = [];
  private customers = 0;
  private readonly spareTokens: string[] = [];

  private constructor(
    readonly sandbox: Sandbox,
    private readonly fleets: LineProcess[],
    private readonly plain: LineProcess,
    private readonly plainUrl: string,
  ) {}

  /** `maxMechanics`: the most it will hold, which sizes the fleet to the machine's file limit (two sockets per mechanic). */
  static async start(maxMechanics: number): Promise<Crowd> {
    const perProcess = childFdLimit() - FD_RESERVE;
    const processes = Math.max(1, Math.ceil((2 * maxMechanics) / perProcess));
    const sandbox = await startBenchSandbox({
      flag: 'on',
      priorityWindowSeconds: FALLBACK_WINDOW_SECONDS,
      // No open request expires (and broadcasts its request_taken) in the middle of a full run.
      requestTtlSeconds: 6 * 3600,
    });
    const fleetPath = fileURLToPath(new URL('./fleet.mjs', import.meta.url));
    const fleets = Array.from({ length: processes }, (_, i) => new LineProcess(spawnRaised([fleetPath]), `fleet ${i + 1}`));
    const plain = new LineProcess(spawnRaised(['--import', 'tsx', fileURLToPath(new URL('./plain-ws.ts', import.meta.url))]), 'plain ws server');
    const port = await plain.expect('listening');
    return new Crowd(sandbox, fleets, plain, `ws://127.0.0.1:${port}`);
  }

  get size(): number {
    return this.mechanics.length;
  }

  get processes(): number {
    return this.fleets.length;
  }

  /**
   * CPU used so far, ms: this process (the sandbox: its endpoints, every
   * Lambda container thread and the WebSocket gateway's thread; the bench's
   * own bookkeeping here is small), the fleet processes together, and the
   * plain server.
   */
  cpu(): { sandbox: number; fleets: number; plain: number } {
    const own = process.cpuUsage();
    return {
      sandbox: (own.user + own.system) / 1000,
      fleets: this.fleets.reduce((sum, fleet) => sum + processCpuMs(fleet.child.pid), 0),
      plain: processCpuMs(this.plain.child.pid),
    };
  }

  /** Registers approved mechanics up to `n` and connects each twice (sandbox, plain server), spread over the fleet. */
  async grow(n: number): Promise<void> {
    const from = this.size;
    if (n <= from) return;
    const ids = Array.from({ length: n - from }, (_, i) => `mech-bench-${from + i}`);
    await registerApprovedMechanics(this.sandbox, ids);
    const tokens = await Promise.all(ids.map((id) => this.sandbox.token({ sub: id })));
    await Promise.all(
      this.fleets.map(async (fleet, f) => {
        // Round robin: every process holds about the same share of each step.
        const mine = ids.map((_, i) => i).filter((i) => (from + i) % this.fleets.length === f);
        if (mine.length === 0) return;
        const onSandbox = JSON.parse(await fleet.command({ join: this.sandbox.wsUrl, tokens: mine.map((i) => tokens[i]) }, 'joined', 1_800_000)) as {
          from: number;
        };
        // The twin connects with its label as `?token=`, which the plain server keys it by.
        await fleet.command({ join: this.plainUrl, tokens: mine.map((i) => `plain-${from + i}`) }, 'joined', 600_000);
        mine.forEach((i, k) => {
          this.seats[from + i] = { fleet: f, sandbox: onSandbox.from + k };
        });
      }),
    );
    this.mechanics.push(...ids);
  }

  /** Mints `n` customer tokens ahead, so timed bookings do not sign their own JWTs (the bench's CPU, not the sandbox's). */
  async prepareCustomers(n: number): Promise<void> {
    for (let i = 0; i < n; i++) this.spareTokens.push(await this.sandbox.token({ sub: `customer-bench-${++this.customers}` }));
  }

  /** `POST /intake/start` as a new customer (no open-booking limit can interfere); throws unless 201. */
  async book(body: Record<string, unknown> = {}): Promise<Booking> {
    const customerToken = this.spareTokens.pop() ?? (await this.sandbox.token({ sub: `customer-bench-${++this.customers}` }));
    const postedAt = epochNow();
    const response = await fetch(`${this.sandbox.httpUrl}/intake/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${customerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'free', concern: 'Bench booking', ...body }),
    });
    const answer = (await response.json()) as { request_id?: string; session_id?: string };
    const answeredAt = epochNow();
    if (response.status !== 201 || !answer.request_id) throw new Error(`intake answered ${response.status}: ${JSON.stringify(answer)}`);
    return { requestId: answer.request_id, sessionId: answer.session_id!, customerToken, postedAt, answeredAt };
  }

  /** When the mechanics at `positions` (default: all) had received a message of `type` for the request. */
  async reached(type: string, requestId: string, positions?: number[]): Promise<Arrival> {
    try {
      return await this.arrival(type, requestId, positions, 'sandbox');
    } catch (error) {
      throw new Error(`${(error as Error).message}; the sandbox says: ${this.diagnose(requestId)}`);
    }
  }

  /** What the fan-out logged of a request, and the dead letters: why a delivery never completed. */
  private diagnose(requestId: string): string {
    const lines = this.sandbox.logs.filter((l) => l.startsWith('{') && l.includes(requestId)).map((l) => JSON.parse(l) as Record<string, unknown>);
    const delivered = lines.filter((l) => l.message === '[FanOut] Delivered');
    const sum = (field: string) => delivered.reduce((n, l) => n + Number(l[field] ?? 0), 0);
    const problems = lines.filter((l) => l.level === 'ERROR' || l.level === 'WARN').map((l) => String(l.message));
    return (
      `${delivered.length} shard run(s) delivered ${sum('delivered')}, gone ${sum('gone')}, failed ${sum('failed')}; ` +
      `${problems.length} error/warning line(s)${problems.length ? ` (${[...new Set(problems)].slice(0, 3).join('; ')})` : ''}; ` +
      `${this.sandbox.deadLetters().length} dead letter(s)`
    );
  }

  /** The same frame through the plain server to every mechanic's twin: epoch ms before the POST, and the arrivals. */
  async plainBroadcast(frame: string, requestId: string): Promise<{ postedAt: number } & Arrival> {
    const postedAt = epochNow();
    await this.post('/broadcast', frame);
    return { postedAt, ...(await this.arrival(JSON.parse(frame).type, requestId, undefined, 'plain')) };
  }

  /** One frame through the plain server to one mechanic's twin. */
  async plainSend(position: number, frame: string, requestId: string): Promise<{ postedAt: number } & Arrival> {
    const postedAt = epochNow();
    await this.post(`/send/plain-${position}`, frame);
    return { postedAt, ...(await this.arrival(JSON.parse(frame).type, requestId, [position], 'plain')) };
  }

  /** Mechanic `position` sends a frame on its sandbox socket (an accept, a decline). */
  async send(position: number, message: unknown): Promise<void> {
    const seat = this.seats[position]!;
    await this.fleets[seat.fleet]!.command({ send: [seat.sandbox], frame: JSON.stringify(message) }, 'sent');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.fleets, this.plain].map((p) => p.stop()));
    await this.sandbox.stop();
  }

  private async arrival(type: string, requestId: string, positions: number[] | undefined, on: 'sandbox' | 'plain'): Promise<Arrival> {
    const counts = new Map<number, number>();
    for (const position of positions ?? this.seats.keys()) {
      const fleet = this.seats[position]!.fleet;
      counts.set(fleet, (counts.get(fleet) ?? 0) + 1);
    }
    const parts = await Promise.all(
      [...counts].map(
        async ([fleet, count]) =>
          JSON.parse(await this.fleets[fleet]!.command({ timed: type, request_id: requestId, count }, 'timed')) as Arrival & { n: number },
      ),
    );
    if (parts.length === 0) throw new Error(`nobody to wait for (${on})`);
    return { first: Math.min(...parts.map((p) => p.first)), last: Math.max(...parts.map((p) => p.last)), sample: parts[0]!.sample };
  }

  private async post(path: string, frame: string): Promise<void> {
    const port = new URL(this.plainUrl).port;
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: frame });
    await response.arrayBuffer();
    if (response.status !== 204) throw new Error(`plain server answered ${response.status} to ${path}`);
  }
}

/** Approved mechanics written straight to the table, 25 a batch (as the admin route would store them, without its thousands of invocations). */
export async function registerApprovedMechanics(sandbox: Pick<Sandbox, 'awsUrl' | 'tableName'>, ids: readonly string[]): Promise<void> {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: sandbox.awsUrl, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } }),
  );
  const updatedAt = new Date().toISOString();
  for (let i = 0; i < ids.length; i += 25) {
    const items = ids.slice(i, i + 25).map((id) => ({
      PutRequest: { Item: { ...keys.mechanic(id), mechanic_id: id, status: 'approved', name: id, workshop_id: null, updated_at: updatedAt } },
    }));
    await db.send(new BatchWriteCommand({ RequestItems: { [sandbox.tableName]: items } }));
  }
  db.destroy();
}

/** A child's CPU so far (user + system, ms), from Linux's /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A message's text with another request id: the floors send the real message's bytes under an id of their own. */
export function withRequestId(text: string, requestId: string): string {
  return JSON.stringify({ ...JSON.parse(text), request_id: requestId });
}

/** A sandbox for a benchmark: in memory, on free ports, no demo data, silent, schedules fired at their time. */
export const startBenchSandbox = (options: SandboxOptions = {}): Promise<Sandbox> =>
  startSandbox({
    inMemory: true,
    httpPort: 0,
    wsPort: 0,
    awsPort: 0,
    seed: false,
    print: () => undefined,
    schedulerPrecision: 'exact',
    // The benchmarks measure the code, not API Gateway's route throttles (1,000 accepts at once would mostly be refused).
    throttles: 'off',
    ...options,
  });

export const floorId = (): string => `floor-${randomUUID()}`;
