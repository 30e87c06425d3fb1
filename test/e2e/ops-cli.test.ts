/**
 * The ops CLI (`npx priority-dispatch`, ops/) run as ops run it: a child process of its own, aimed at an
 * in-process sandbox by `--endpoint-url` / `--http-url`, each command checked against what the sandbox then
 * holds or does.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { api, armFault, awsClientConfig, clearFaults, eventually, MechanicClient, plannedBooking, registerMechanic, startTestSandbox } from './clients';

const CLI = 'ops/priority-dispatch.mjs';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let sandbox: Sandbox;
const open: MechanicClient[] = [];

beforeAll(async () => {
  // Lambda's async retries shortened, so a failing timer reaches the dead letters in a moment.
  sandbox = await startTestSandbox({ asyncRetryDelaysMs: [50, 50], flag: 'off' });
});

afterAll(async () => {
  await Promise.all(open.map((client) => client.close()));
  await sandbox?.stop();
});

const target = () => ['--endpoint-url', sandbox.awsUrl, '--http-url', sandbox.httpUrl];

/** One CLI run to its end. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, ...target()], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A run that must succeed, its `--json` stdout parsed. */
async function cliJson<T>(...args: string[]): Promise<T> {
  const run = await cli(...args, '--json');
  expect(run, run.stderr).toMatchObject({ code: 0 });
  return JSON.parse(run.stdout) as T;
}

async function book(body: Record<string, unknown>): Promise<{ session_id: string; request_id: string; customer: string }> {
  const customer = `cust-${randomUUID().slice(0, 8)}`;
  const answer = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: customer }),
    body: { plan: 'free', concern: 'Brakes squeal', ...body },
  });
  expect(answer.status).toBe(201);
  return { ...answer.body, customer };
}

describe('flag', () => {
  it('on, status and off round-trip through SSM, and "on" really routes a priority booking to the favorite', async () => {
    // Arrange
    const ssm = new SSMClient(awsClientConfig(sandbox));
    const favorite = await MechanicClient.connect(sandbox, await registerMechanic(sandbox));
    open.push(favorite);

    // Act: on (no handler has read the flag in this sandbox yet, so no cached "off" delays it)
    const on = await cliJson<{ on: boolean; value: string }>('flag', 'on');
    const booked = await book({ preferred_mechanic_id: favorite.mechanicId, routing_type: 'priority_broadcast' });

    // Assert
    expect(on).toMatchObject({ on: true, value: 'true' });
    expect((await ssm.send(new GetParameterCommand({ Name: sandbox.flagParameterName }))).Parameter?.Value).toBe('true');
    await favorite.waitFor('priority_session_request', booked.request_id);

    // Act: off, then what SSM says is what status says
    expect(await cliJson('flag', 'off')).toMatchObject({ on: false, value: 'false' });
    expect((await ssm.send(new GetParameterCommand({ Name: sandbox.flagParameterName }))).Parameter?.Value).toBe('false');
    await ssm.send(new PutParameterCommand({ Name: sandbox.flagParameterName, Value: 'true', Overwrite: true }));
    const status = await cli('flag', 'status');

    // Assert
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('ENABLE_FAVORITES_PRIORITY is on');
    await ssm.send(new PutParameterCommand({ Name: sandbox.flagParameterName, Value: 'false', Overwrite: true }));
  });
});

describe('mechanics', () => {
  it('put registers a mechanic through the admin route; list shows it', async () => {
    // Arrange
    const id = `mech-${randomUUID().slice(0, 8)}`;

    // Act
    const put = await cliJson<Record<string, unknown>>('mechanics', 'put', id, '--status', 'approved', '--name', 'Zoe', '--workshop', 'ws-north');
    const list = await cliJson<Record<string, unknown>[]>('mechanics', 'list');
    const text = await cli('mechanics', 'list');

    // Assert
    expect(put).toMatchObject({ mechanic_id: id, status: 'approved', name: 'Zoe', workshop_id: 'ws-north', paused: false });
    expect(list).toContainEqual(expect.objectContaining({ mechanic_id: id, status: 'approved', workshop_id: 'ws-north' }));
    expect(text.stdout).toMatch(new RegExp(`${id}\\s+approved\\s+no\\s+ws-north\\s+Zoe`));
  });
});

describe('requests', () => {
  it('list --state open, list --audience everyone and show <id> find a booking made through the HTTP API', async () => {
    // Arrange
    const booked = await book({});
    await eventually(
      async () =>
        (
          await api<{ request?: { state: string } }>(sandbox, 'GET', `/sessions/${booked.session_id}`, {
            token: await sandbox.token({ sub: booked.customer }),
          })
        ).body.request?.state === 'open',
      'the booking to open',
    );

    // Act
    const byScan = await cliJson<{ request_id: string; state: string }[]>('requests', 'list', '--state', 'open');
    const byAudience = await cliJson<{ request_id: string }[]>('requests', 'list', '--audience', 'everyone');
    const byCustomer = await cliJson<{ request_id: string }[]>('requests', 'list', '--customer', booked.customer);
    const matched = await cliJson<{ request_id: string }[]>('requests', 'list', '--customer', booked.customer, '--state', 'matched');
    const shown = await cliJson<{ request_id: string; state: string; customer_id: string; events: { type: string }[] }>('requests', 'show', booked.request_id);
    const text = await cli('requests', 'show', booked.session_id);

    // Assert
    expect(byScan).toContainEqual(expect.objectContaining({ request_id: booked.request_id, state: 'open' }));
    expect(byScan.every((row) => row.state === 'open')).toBe(true);
    expect(byAudience.map((row) => row.request_id)).toContain(booked.request_id);
    expect(byCustomer.map((row) => row.request_id)).toEqual([booked.request_id]);
    expect(matched).toEqual([]);
    expect(shown).toMatchObject({ request_id: booked.request_id, state: 'open', customer_id: booked.customer });
    expect(shown.events.map((event) => event.type)).toEqual(expect.arrayContaining(['created', 'broadcast_sent']));
    expect(text.stdout).toMatch(new RegExp(`request\\s+${booked.request_id}`));
    expect(text.stdout).toMatch(/broadcast_sent {2}reason=broadcast/);
  });

  it('show of a request that does not exist exits 1 with not_found', async () => {
    // Act
    const run = await cli('requests', 'show', `req-${randomUUID()}`, '--json');

    // Assert
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toEqual({ error: { code: 'not_found', message: expect.stringContaining('no booking has the id') } });
  });
});

describe('dead-letters', () => {
  it('list shows a timer that failed 3 runs; a refused replay keeps the letter; replay re-invokes it, then deletes it', async () => {
    // Arrange: a timer event that throws on every run until the fault is cleared
    const { requestId } = plannedBooking();
    await armFault(sandbox, { service: 'lambda', operation: 'requestTimer', error: 'Boom', times: 0, match: requestId });
    const event = { request_id: requestId, due_at: new Date().toISOString() };
    const lambda = new LambdaClient(awsClientConfig(sandbox));
    await lambda.send(
      new InvokeCommand({ FunctionName: `priority-dispatch-${sandbox.stage}-requestTimer`, InvocationType: 'Event', Payload: JSON.stringify(event) }),
    );
    type Letter = { id: string; kind: string; function_arn: string; event: unknown; error: string };
    const letter = await eventually(
      async () => (await cliJson<Letter[]>('dead-letters', 'list')).find((l) => (l.event as { request_id?: string }).request_id === requestId),
      'the dead letter',
    );
    expect(letter).toMatchObject({
      kind: 'lambda',
      function_arn: expect.stringMatching(/:function:priority-dispatch-local-requestTimer$/),
      event,
      error: 'Boom: Injected fault: Boom',
    });
    expect((await cli('dead-letters', 'list')).stdout).toContain(letter.id);
    await clearFaults(sandbox);

    // Act: Lambda refuses the replay's invoke
    await armFault(sandbox, { service: 'lambda-api', operation: 'Invoke', error: 'TooManyRequestsException', status: 429, times: 0 });
    const refused = await cli('dead-letters', 'replay', letter.id, '--json');
    await clearFaults(sandbox);

    // Assert: nothing lost
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr).error.code).toBe('replay_failed');
    expect((await cliJson<Letter[]>('dead-letters', 'list')).map((l) => l.id)).toContain(letter.id);

    // Act
    const replayed = await cliJson<{ id: string; replayed: boolean }[]>('dead-letters', 'replay', letter.id);

    // Assert: the timer ran again, this time fine, and the letter is gone
    expect(replayed).toEqual([expect.objectContaining({ id: letter.id, replayed: true })]);
    await eventually(() => sandbox.invocations().some((run) => run.requestId === requestId && run.ok), 'the replayed timer run (every earlier one failed)');
    expect((await cliJson<Letter[]>('dead-letters', 'list')).map((l) => l.id)).not.toContain(letter.id);
    const again = await cli('dead-letters', 'replay', letter.id, '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr).error.code).toBe('not_found');
  });
});

describe('tail', () => {
  it('prints a readable line for a booking as it happens, and stops with exit 0 on Ctrl-C', async () => {
    // Arrange: --from-start, so the booking's lines are printed whether they come before or after tail's first poll
    const child: ChildProcess = spawn(process.execPath, [CLI, 'tail', '--from-start', ...target()]);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const booked = await book({});

    // Act
    const line = await eventually(
      () => out.split('\n').find((l) => l.includes('[fulfillment] Broadcast routing to all mechanics') && l.includes(booked.request_id)),
      "the booking's fulfillment line in tail",
    );
    child.kill('SIGINT');

    // Assert
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \[fulfillment\] Broadcast routing to all mechanics {2}.*request_id=req-/);
    expect(await exited).toBe(0);
  });
});

describe('usage errors', () => {
  it.each([
    [['frob'], 'unknown command "frob"'],
    [['requests', 'list', '--state', 'bogus'], '--state must be one of'],
    [['flag', 'status', '--state', 'open'], '--state does not apply to "flag status"'],
    [['mechanics', 'put', 'mech-x'], 'needs --status'],
    [['dead-letters', 'replay'], 'needs message ids or --all'],
    [['requests', 'list', '--bogus'], "Unknown option '--bogus'"],
  ])('%j exits 2 and says why', async (args, message) => {
    // Act
    const text = await cli(...args);
    const json = await cli(...args, '--json');

    // Assert
    expect(text.code).toBe(2);
    expect(text.stderr).toContain(message);
    expect(text.stderr).toContain('--help');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'usage', message: expect.stringContaining(message) } });
  });
});
