/**
 * The sandbox's Lambda containers: each function has its own, each runs one
 * invocation at a time, overlapping invocations get more of them (each with
 * its own module scope and its own cold start), and a Crash fault kills a
 * container right after the AWS call it names — the call happened, nothing
 * after it does — and the container is never used again.
 */
import { randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { lambdaFunctionName } from '../../sandbox/lambda-host';
import { startTestSandbox } from '../e2e/clients';

let sandbox: Sandbox;
let lambda: LambdaClient;

beforeAll(async () => {
  sandbox = await startTestSandbox({ seed: false, lambdaConcurrency: 2 });
  lambda = new LambdaClient({ endpoint: sandbox.awsUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(() => sandbox?.stop());
afterEach(() => fetch(`${sandbox.httpUrl}/dev/faults`, { method: 'DELETE' }));

/** A timer firing for a request that does not exist: it waits for `due_at`, reads nothing, deletes the (absent) timer. */
const timerEvent = (waitMs: number) => ({ request_id: `req-${randomUUID()}`, due_at: new Date(Date.now() + waitMs).toISOString() });

async function invokeTimer(event: unknown): Promise<{ payload: unknown; functionError?: string }> {
  const answer = await lambda.send(
    new InvokeCommand({ FunctionName: lambdaFunctionName(sandbox.stage, 'requestTimer'), Payload: new TextEncoder().encode(JSON.stringify(event)) }),
  );
  return { payload: JSON.parse(new TextDecoder().decode(answer.Payload)), ...(answer.FunctionError ? { functionError: answer.FunctionError } : {}) };
}

const coldStartsOf = (requestIds: string[]): boolean[] =>
  sandbox.logs
    .filter((line) => line.startsWith('{"level"') && requestIds.some((id) => line.includes(id)) && line.includes('[Timer] Nothing due'))
    .map((line) => (JSON.parse(line) as { cold_start: boolean }).cold_start);

describe('containers', () => {
  it('overlapping invocations of one function run side by side, each in a container of its own with its own cold start', async () => {
    // Arrange: three firings that each wait 1.5 s inside their invocation
    const events = [timerEvent(1500), timerEvent(1500), timerEvent(1500)];
    const before = sandbox.containers().requestTimer ?? 0;

    // Act
    const answers = await Promise.all(events.map(invokeTimer));

    // Assert: side by side, three containers (a container runs one invocation at a time, and the next test shows a
    // free one is reused, so three containers mean the three overlapped; a stopwatch would measure the machine's load)
    expect(answers.map((a) => a.payload)).toEqual([{ did: 'nothing' }, { did: 'nothing' }, { did: 'nothing' }]);
    expect(sandbox.containers().requestTimer).toBe(Math.max(before, 3));
    // The warm container was not cold; every container started for the overlap was.
    expect(coldStartsOf(events.map((e) => e.request_id)).filter(Boolean).length).toBeGreaterThanOrEqual(3 - before);
  });

  it('a free container is reused: one after another, no new container', async () => {
    const before = sandbox.containers().requestTimer!;
    await invokeTimer(timerEvent(0));
    await invokeTimer(timerEvent(0));
    expect(sandbox.containers().requestTimer).toBe(before);
  });
});

describe('Crash faults', () => {
  it('kill the invocation right after the named call: the call happened, nothing after it did; the container is retired', async () => {
    // Arrange: a firing reads the booking (GetItem), then deletes the timer (DeleteSchedule); crash after the read
    const event = timerEvent(0);
    const armed = await fetch(`${sandbox.httpUrl}/dev/faults`, {
      method: 'POST',
      body: JSON.stringify({ service: 'lambda', operation: 'requestTimer', error: 'Crash', after: 'GetItem', match: event.request_id }),
    });
    expect(armed.status).toBe(201);
    const before = sandbox.containers().requestTimer!;
    const invocations = sandbox.invocations().length;

    // Act
    const answer = await invokeTimer(event);

    // Assert
    expect(answer.functionError).toBe('Unhandled');
    expect(answer.payload).toMatchObject({ errorType: 'Runtime.ExitError' });
    expect(sandbox.logs.some((line) => line.includes('faults: lambda requestTimer after GetItem#1 answered Crash'))).toBe(true);
    expect(sandbox.containers().requestTimer).toBe(before - 1);
    // Never finished: no record of it, and its next call (DeleteSchedule) never reached the Scheduler.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sandbox.invocations().slice(invocations)).toEqual([]);
    expect(sandbox.logs.some((line) => line.includes(event.request_id) && line.includes('[Timer]'))).toBe(false);

    // And the next invocation runs normally, in another container
    expect((await invokeTimer(timerEvent(0))).payload).toEqual({ did: 'nothing' });
  });

  it('`occurrence` picks which call of the operation; a crash fault is refused without `after`, or with it on another service', async () => {
    const post = (body: unknown) => fetch(`${sandbox.httpUrl}/dev/faults`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post({ service: 'lambda', operation: 'requestTimer', error: 'Crash' })).status).toBe(400);
    expect((await post({ service: 'dynamodb', error: 'Crash', after: 'GetItem' })).status).toBe(400);
    expect((await post({ service: 'lambda', error: 'Crash', after: 'GetItem', occurrence: 0 })).status).toBe(400);

    // The firing's first call of GetItem is the only one: a crash after the second never happens.
    const event = timerEvent(0);
    expect(
      (await post({ service: 'lambda', operation: 'requestTimer', error: 'Crash', after: 'GetItem', occurrence: 2, match: event.request_id })).status,
    ).toBe(201);
    expect((await invokeTimer(event)).payload).toEqual({ did: 'nothing' });
    const armed = (await (await fetch(`${sandbox.httpUrl}/dev/faults`)).json()) as { faults: unknown[] };
    expect(armed.faults).toHaveLength(1);
  });
});
