/**
 * The sandbox's asynchronous Lambda invocation, as Scheduler's targets get it:
 * accepted at once, a failed run retried twice after the configured waits,
 * then AWS's on-failure record at the destination; the queue survives a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionName } from '../../contract/routes';
import { AsyncInvoker, type AsyncInvokerOptions } from '../../sandbox/lambda-async';
import { eventually } from '../e2e/clients';

const DLQ = 'arn:aws:sqs:us-east-1:000000000000:test-fallback-dlq';
const DELAYS_MS = [150, 300];

interface Run {
  name: FunctionName;
  payload: unknown;
  at: number;
}

const started: AsyncInvoker[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const invoker of started.splice(0)) await invoker.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An invoker whose function fails its first `failures` runs (Infinity: always). */
function invoker(failures: number, options: Partial<AsyncInvokerOptions> = {}) {
  const runs: Run[] = [];
  const lines: string[] = [];
  const async = new AsyncInvoker({
    run: async (name, payload) => {
      runs.push({ name, payload, at: Date.now() });
      if (runs.length <= failures) throw Object.assign(new Error(`boom ${runs.length}`), { errorName: 'Runtime.ExitError' });
      return { ok: true };
    },
    arnOf: (name) => `arn:aws:lambda:us-east-1:000000000000:function:test-${name}`,
    onFailureDestination: (name) => (name === 'requestTimer' ? DLQ : undefined),
    log: (line) => lines.push(line),
    retryDelaysMs: DELAYS_MS,
    tickMs: 20,
    ...options,
  });
  started.push(async);
  async.start();
  return { async, runs, lines };
}

describe('asynchronous invocation', () => {
  it('accepts the event at once and runs it once when the run succeeds', async () => {
    // Arrange
    const { async, runs } = invoker(0);

    // Act
    async.invoke('requestTimer', { request_id: 'req-1' });

    // Assert
    await eventually(() => runs.length === 1, 'the run');
    expect(runs[0]).toMatchObject({ name: 'requestTimer', payload: { request_id: 'req-1' } });
    expect(async.deadLetters()).toEqual([]);
  });

  it('retries a failed run twice, after the configured waits, and stops at the first success', async () => {
    // Arrange
    const { async, runs, lines } = invoker(2);

    // Act
    async.invoke('requestTimer', { request_id: 'req-2' });

    // Assert
    await eventually(() => runs.length === 3, 'three runs');
    expect(runs[1]!.at - runs[0]!.at).toBeGreaterThanOrEqual(DELAYS_MS[0]!);
    expect(runs[2]!.at - runs[1]!.at).toBeGreaterThanOrEqual(DELAYS_MS[1]!);
    expect(lines.filter((line) => line.includes('retried in'))).toHaveLength(2);
    expect(async.deadLetters()).toEqual([]);
  });

  it("after 3 failed runs sends AWS's on-failure record to the destination, and runs no more", async () => {
    // Arrange
    const { async, runs } = invoker(Number.POSITIVE_INFINITY);

    // Act
    async.invoke('requestTimer', { request_id: 'req-3' });

    // Assert
    const [letter, ...more] = await eventually(() => async.deadLetters().length > 0 && async.deadLetters(), 'the on-failure record');
    expect(more).toEqual([]);
    expect(letter).toEqual({
      message_id: expect.any(String),
      destination_arn: DLQ,
      at: expect.any(String),
      record: {
        version: '1.0',
        timestamp: letter!.at,
        requestContext: {
          requestId: expect.any(String),
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test-requestTimer:$LATEST',
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: { request_id: 'req-3' },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: 'Runtime.ExitError', errorMessage: 'boom 3' },
      },
    });
    await new Promise((resolve) => setTimeout(resolve, DELAYS_MS[1]! * 2)); // nothing is due any more: a fourth run would show here
    expect(runs).toHaveLength(3);
  });

  it('drops the event of a function without an on-failure destination, and says so', async () => {
    // Arrange
    const { async, lines } = invoker(Number.POSITIVE_INFINITY);

    // Act
    async.invoke('wsPing', {});

    // Assert
    await eventually(() => lines.some((line) => line.includes('wsPing failed 3 times; event dropped (no on-failure destination)')), 'the drop');
    expect(async.deadLetters()).toEqual([]);
  });

  it('keeps a queued retry across a restart on the same data dir', async () => {
    // Arrange: the first run fails, then the invoker stops before the retry is due
    const dataDir = mkdtempSync(join(tmpdir(), 'pd-async-'));
    dirs.push(dataDir);
    const first = invoker(1, { dataDir, retryDelaysMs: [400, 400] });
    first.async.invoke('requestTimer', { request_id: 'req-4' });
    await eventually(() => first.runs.length === 1, 'the failed first run');
    await first.async.stop();

    // Act
    const second = invoker(0, { dataDir });

    // Assert
    await eventually(() => second.runs.length === 1, 'the retry after the restart');
    expect(second.runs[0]!.payload).toEqual({ request_id: 'req-4' });
    expect(first.runs).toHaveLength(1);
  });
});
