/**
 * Intake latency while a broadcast runs, against its floor in the same run.
 * Each sample: a first broadcast booking starts its fan-out, then (50 ms
 * later, while it pushes) a second booking's intake is timed; the next sample
 * waits until both broadcasts have reached everyone, so the backlog never
 * grows. The floor is the same with no mechanic connected. Issue #8: the
 * median with 2,000 connected stays within 2× of the floor. `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from '../lambdas/adapters/dynamodb-keys';
import { startSandbox } from '../sandbox/index';

const MECHANICS = Number(process.env.BENCH_MECHANICS ?? 2000);
const BOOKINGS = Number(process.env.BENCH_BOOKINGS ?? 30);

const sandbox = await startSandbox({
  inMemory: true,
  httpPort: 0,
  wsPort: 0,
  awsPort: 0,
  seed: false,
  print: () => undefined,
  schedulerPrecision: 'exact',
});
const customer = await sandbox.token({ sub: 'customer-bench' });

async function intakeMs(): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${sandbox.httpUrl}/intake/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${customer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ plan: 'free', concern: 'Bench booking' }),
  });
  await response.text();
  if (response.status !== 201) throw new Error(`intake answered ${response.status}`);
  return performance.now() - started;
}

let received = 0;
let connectedMechanics = 0;

async function series(label: string): Promise<{ label: string; median: number; min: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < BOOKINGS; i++) {
    const goal = received + 2 * connectedMechanics;
    await intakeMs(); // a broadcast under way…
    await new Promise((resolve) => setTimeout(resolve, 50));
    times.push(await intakeMs()); // …while this intake is timed
    while (received < goal) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { label, median: round(times[Math.floor(times.length / 2)]!), min: round(times[0]!), max: round(times.at(-1)!) };
}

async function registerMechanics(count: number): Promise<string[]> {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: sandbox.awsUrl, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } }),
  );
  const ids = Array.from({ length: count }, (_, i) => `mech-bench-${i}`);
  for (let i = 0; i < ids.length; i += 25) {
    const items = ids.slice(i, i + 25).map((id) => ({
      PutRequest: { Item: { ...keys.mechanic(id), mechanic_id: id, status: 'approved', name: id, workshop_id: null, updated_at: new Date().toISOString() } },
    }));
    await db.send(new BatchWriteCommand({ RequestItems: { [sandbox.tableName]: items } }));
  }
  return Promise.all(ids.map((id) => sandbox.token({ sub: id })));
}

try {
  for (let i = 0; i < 5; i++) await intakeMs(); // warm the containers on the path
  const none = await series('intake while a broadcast to 0 mechanics runs (floor)');

  const tokens = await registerMechanics(MECHANICS);
  const fleet = spawn(process.execPath, ['bench/fleet.mjs'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: fleet.stdout! });
  const connected = new Promise<void>((resolve) =>
    lines.on('line', (line) => {
      if (line.startsWith('connected')) resolve();
      if (line.startsWith('received')) received = Number(line.split(' ')[1]);
    }),
  );
  fleet.stdin!.end(JSON.stringify({ url: sandbox.wsUrl, tokens }));
  await connected;
  connectedMechanics = MECHANICS;
  // One broadcast first: every fan-out container has started once.
  await intakeMs();
  while (received < MECHANICS) await new Promise((r) => setTimeout(r, 200));

  const loaded = await series(`intake while a broadcast to ${MECHANICS} connected mechanics runs`);
  const ratio = Math.round((loaded.median / none.median) * 100) / 100;
  fleet.kill('SIGTERM');

  console.log('| figure | median ms | min | max |');
  console.log('|---|---|---|---|');
  for (const row of [none, loaded]) console.log(`| ${row.label} | ${row.median} | ${row.min} | ${row.max} |`);
  console.log(`ratio (median with ${MECHANICS} / floor): ${ratio}× (goal ≤ 2×); every broadcast reached all ${MECHANICS} mechanics`);
} finally {
  await sandbox.stop();
}
