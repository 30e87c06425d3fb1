/**
 * CPU per push: the client's own CPU (`process.cpuUsage`, every thread of
 * this process) over N pushes of a `new_request`-sized message, 64 in flight
 * (the fan-out's PUSH_CONCURRENCY), against a keep-alive HTTP server in
 * another process that answers 200 as `@connections` does, so none of the
 * server's work is counted. Three clients, interleaved in every run:
 * the SDK's PostToConnection, ours (SignedConnectionsPusher: the same SigV4
 * signature by hand over a keep-alive agent), and the floor, a raw keep-alive
 * POST with no signature. Run first, before any sandbox exists in this
 * process, so nothing else burns CPU here. A full garbage collection before
 * each client's turn, and the order rotated from run to run, keep one
 * client's garbage (the SDK makes the most) from being collected, and
 * counted, in the next one's turn.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { SignedConnectionsPusher } from '../lambdas/adapters/signed-connections-pusher';
import type { ServerMessage } from '../lambdas/domain/messages';
import { PUSH_CONCURRENCY } from '../lambdas/use-cases/tell-mechanics';
import { round, type Stat, stat } from './stats';

export interface PushCpuResult {
  pushes: number;
  /** µs of CPU per push. */
  sdk: Stat;
  signed: Stat;
  raw: Stat;
}

/** Answers every request 200 with an empty body, keeping connections alive, as `@connections` answers a push. */
const OK_SERVER = `
const server = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': 0, 'x-amzn-requestid': 'bench' }).end());
});
server.keepAliveTimeout = 600000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

const MESSAGE: ServerMessage = {
  type: 'new_request',
  request_id: 'req-5f0c2a7e-3b1d-4c56-9a8e-0d2f6b7c1e94',
  session_id: 'sess-5f0c2a7e-3b1d-4c56-9a8e-0d2f6b7c1e94',
  reason: 'broadcast',
  expires_at: '2026-11-28T13:00:00.000Z',
  concern: 'Brakes squeal when the car slows down below 20 mph',
  vehicle: { make: 'Toyota', model: 'Corolla', year: 2018 },
};
const CREDENTIALS = { accessKeyId: 'AKIABENCHBENCHBENCH0', secretAccessKey: 'bench/secret/key/bench/secret/key/bench0' };
const REGION = 'us-east-1';
/** Connection ids look like API Gateway's (base64, 12 characters + `=`). */
const connectionIds = Array.from({ length: 1000 }, (_, i) => `Bench${String(i).padStart(7, '0')}=`);

type Push = (connectionId: string) => Promise<unknown>;

export async function pushCpu(options: { pushes: number; runs: number }): Promise<PushCpuResult> {
  const server = spawn(process.execPath, ['-e', OK_SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => createInterface({ input: server.stdout! }).once('line', resolve));
  const endpoint = `http://127.0.0.1:${port}/local`;

  const sdkClient = new ApiGatewayManagementApiClient({
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    // The same keep-alive sockets as the others get, so only the per-call work differs.
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: PUSH_CONCURRENCY }) },
  });
  const signed = new SignedConnectionsPusher(endpoint, { region: REGION, credentials: async () => CREDENTIALS, maxSockets: PUSH_CONCURRENCY });
  const rawAgent = new Agent({ keepAlive: true, maxSockets: PUSH_CONCURRENCY });

  const clients: Record<'sdk' | 'signed' | 'raw', Push> = {
    sdk: (id) => sdkClient.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from(JSON.stringify(MESSAGE)) })),
    signed: (id) => signed.send(id, MESSAGE),
    raw: (id) => rawPost(port, rawAgent, `/local/@connections/${encodeURIComponent(id)}`, JSON.stringify(MESSAGE)),
  };
  const perPush: Record<keyof typeof clients, number[]> = { sdk: [], signed: [], raw: [] };
  try {
    // Not counted: JIT warm-up and every keep-alive socket opened once.
    for (const push of Object.values(clients)) await pushMany(push, Math.max(1000, options.pushes / 2));
    const names = Object.keys(clients) as (keyof typeof clients)[];
    for (let run = 0; run < options.runs; run++) {
      for (const name of [...names.slice(run % names.length), ...names.slice(0, run % names.length)]) {
        const push = clients[name];
        collectGarbage();
        const before = process.cpuUsage();
        await pushMany(push, options.pushes);
        const used = process.cpuUsage(before);
        perPush[name].push((used.user + used.system) / options.pushes);
      }
    }
  } finally {
    sdkClient.destroy();
    signed.close();
    rawAgent.destroy();
    server.stdin!.end();
  }
  const us = (values: number[]) => {
    const s = stat(values);
    return { median: round(s.median, 0), min: round(s.min, 0), max: round(s.max, 0) };
  };
  return { pushes: options.pushes, sdk: us(perPush.sdk), signed: us(perPush.signed), raw: us(perPush.raw) };
}

/** A full, synchronous garbage collection (Node's `--expose-gc`, turned on for this one call). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** `count` pushes, PUSH_CONCURRENCY at a time, as the fan-out sends a shard's page. */
async function pushMany(push: Push, count: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await push(connectionIds[next++ % connectionIds.length]!);
  };
  await Promise.all(Array.from({ length: PUSH_CONCURRENCY }, lane));
}

function rawPost(port: string, agent: Agent, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = request(
      {
        method: 'POST',
        host: '127.0.0.1',
        port,
        path,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    call.on('error', reject);
    call.end(body);
  });
}
