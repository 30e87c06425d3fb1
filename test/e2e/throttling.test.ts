/**
 * Abuse resistance, end to end in the sandbox (issue #12): the stages' route throttles as API Gateway
 * answers them (set low here so a test provokes them: one request per 10 s), and one WebSocket connection
 * flooding messages while another carries on. Refills are waited for generously, never raced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import type { InvocationRecord } from '../../sandbox/lambda-host';
import { api, eventually, MechanicClient, registerMechanic, startTestSandbox } from './clients';

const TOO_MANY_REQUESTS = { message: 'Too Many Requests' };
/** One request, then one more per 10 s: a test's requests a moment apart are refused, and a refill comes within a poll. */
const ONE_PER_TEN_SECONDS = { rateLimit: 0.1, burstLimit: 1 };

describe('route throttles', () => {
  let sandbox: Sandbox;
  const clients: MechanicClient[] = [];

  beforeAll(async () => {
    sandbox = await startTestSandbox({ throttles: { intake: ONE_PER_TEN_SECONDS, acceptDecline: ONE_PER_TEN_SECONDS } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sandbox?.stop();
  });

  const intake = async (customer: string) =>
    api<Record<string, unknown>>(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: customer }),
      body: { plan: 'free', concern: 'Brakes' },
    });

  it('POST /intake/start past its bucket: 429 Too Many Requests and nothing runs; reads are not touched; after the refill it books', async () => {
    // Arrange
    const intakesBefore = sandbox.invocations().filter((r) => r.function === 'intakeStart').length;

    // Act: three customers at once, then the one who booked reads it five times
    const answers = await Promise.all(['cust-t1', 'cust-t2', 'cust-t3'].map(async (customer) => ({ customer, ...(await intake(customer)) })));
    const booked = answers.find((a) => a.status === 201)!;
    const ownerToken = await sandbox.token({ sub: booked.customer });
    const reads = await Promise.all(
      Array.from({ length: 5 }, async () => (await api(sandbox, 'GET', `/sessions/${String(booked.body.session_id)}`, { token: ownerToken })).status),
    );
    const intakesRun = sandbox.invocations().filter((r) => r.function === 'intakeStart').length - intakesBefore;
    // One token per 10 s: poll once a second until an intake books again.
    const later = await eventually(
      async () => {
        const answer = await intake('cust-t4');
        if (answer.status === 429) await new Promise((resolve) => setTimeout(resolve, 1_000));
        return answer.status === 201 && answer;
      },
      'an intake after the refill',
      60_000,
    );

    // Assert
    expect(answers.map((a) => a.status).sort()).toEqual([201, 429, 429]);
    for (const refused of answers.filter((a) => a.status === 429)) expect(refused.body).toEqual(TOO_MANY_REQUESTS);
    expect(intakesRun).toBe(1);
    expect(reads).toEqual([200, 200, 200, 200, 200]);
    expect(later.body).toMatchObject({ status: 'fulfilled' });
  });

  it("accept past its bucket: API Gateway's error frame, nothing runs, the connection stays open and answers ping; after the refill an accept runs", async () => {
    // Arrange
    const mechanic = await MechanicClient.connect(sandbox, await registerMechanic(sandbox));
    clients.push(mechanic);

    // Act: three accepts at once. The previous test's last booking is broadcast by the asynchronous fan-out, which
    // on a loaded machine can reach this mechanic now: an answer is an accept_result for one of these ids or API
    // Gateway's untyped error frame, never just any message.
    const ids = ['req-nope-1', 'req-nope-2', 'req-nope-3'];
    for (const id of ids) mechanic.accept(id);
    const answersToAccepts = () => mechanic.messages.filter((m) => m.type === undefined || (m.type === 'accept_result' && ids.includes(String(m.request_id))));
    await eventually(() => answersToAccepts().length >= 3, 'an answer to each accept');
    const firstAnswers = answersToAccepts();
    mechanic.send({ action: 'ping' });
    await mechanic.waitFor('pong');
    const later = await eventually(
      async () => {
        mechanic.accept('req-nope-later');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        return mechanic.of('accept_result', 'req-nope-later')[0];
      },
      'an accept after the refill',
      60_000,
    );

    // Assert
    const frames = firstAnswers.filter((m) => m.type === undefined);
    expect(firstAnswers.filter((m) => m.type === 'accept_result')).toHaveLength(1);
    expect(frames).toEqual([
      { ...TOO_MANY_REQUESTS, connectionId: expect.any(String), requestId: expect.any(String) },
      { ...TOO_MANY_REQUESTS, connectionId: expect.any(String), requestId: expect.any(String) },
    ]);
    expect(frames[0]!.connectionId).toBe(frames[1]!.connectionId);
    expect(mechanic.closed).toBe(false);
    expect(later).toMatchObject({ type: 'accept_result', ok: false, reason: 'not_found' });
  });
});

describe('message flooding', () => {
  const LIMIT = 3;
  const FLOOD = 60;
  let sandbox: Sandbox;
  const clients: MechanicClient[] = [];

  beforeAll(async () => {
    // Route throttles off (the default of test sandboxes): this is the limit API Gateway cannot set, per connection.
    sandbox = await startTestSandbox({ messageRateLimit: LIMIT });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sandbox?.stop();
  });

  it('a connection sending more than the limit in a second gets rate_limited and its extra accepts do nothing; another connection accepts meanwhile', async () => {
    // Arrange: two mechanics hear of an open request
    const [flooder, other] = await Promise.all([registerMechanic(sandbox), registerMechanic(sandbox)]);
    const [a, b] = await Promise.all([MechanicClient.connect(sandbox, flooder), MechanicClient.connect(sandbox, other)]);
    clients.push(a, b);
    const booked = await api<{ request_id: string }>(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: 'cust-flood' }),
      body: { plan: 'free', concern: 'Flooded' },
    });
    const requestId = booked.body.request_id;
    await Promise.all([a.waitFor('new_request', requestId), b.waitFor('new_request', requestId)]);
    const before = sandbox.invocations().length;

    // Act: the flooder sends 60 accepts (of a request nobody has) at once; the other accepts the open request
    for (let i = 0; i < FLOOD; i++) a.accept(`req-flood-${i}`);
    b.accept(requestId);
    const accepts = await eventually(() => {
      const records = sandbox
        .invocations()
        .slice(before)
        .filter((r) => r.function === 'wsAccept');
      return records.length === FLOOD + 1 && records;
    }, 'every accept to be handled');
    await eventually(() => a.of('error').length > 0, 'the flooder to be told');

    // Assert: the other mechanic won, untouched
    expect(await b.waitFor('accept_result', requestId)).toEqual({ type: 'accept_result', request_id: requestId, ok: true });
    expect(b.of('error')).toEqual([]);

    // Assert: the flooder was told, once per second it went over; its other accepts ran as usual
    const told = a.of('error');
    for (const error of told)
      expect(error).toEqual({
        type: 'error',
        code: 'rate_limited',
        message: `more than ${LIMIT} messages in one second: this one and the rest of this second are ignored`,
      });
    const answered = a.of('accept_result');
    for (const answer of answered) expect(answer).toMatchObject({ ok: false, reason: 'not_found' });
    expect(answered.length).toBeLessThan(FLOOD - told.length);

    // Assert: each extra accept did nothing but the count (one UpdateItem): no read, no write, no push
    const ran = (r: InvocationRecord) => (r.calls.GetItem ?? 0) > 0;
    const ignored = accepts.filter((r) => JSON.stringify(r.calls) === JSON.stringify({ UpdateItem: 1 }));
    const tellers = accepts.filter((r) => JSON.stringify(r.calls) === JSON.stringify({ UpdateItem: 1, PostToConnection: 1 }));
    expect(accepts.filter(ran)).toHaveLength(answered.length + 1);
    expect(tellers).toHaveLength(told.length);
    expect(ignored).toHaveLength(FLOOD - answered.length - told.length);

    // Assert: the flooder's connection is still open, and a later second's message runs
    expect(a.closed).toBe(false);
    const synced = await eventually(async () => {
      a.send({ action: 'sync' });
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      return a.of('offers')[0];
    }, "the flooder's sync in a later second");
    expect(synced).toMatchObject({ type: 'offers' });
  });
});
