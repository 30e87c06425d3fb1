/**
 * Reconnect sync (issue #10), with real `ws` clients against the sandbox: `{"action":"sync"}`
 * answers ONE `offers` message listing what this mechanic may act on now — a mechanic who
 * connects after a request went out still finds it; the favorite finds their priority offer;
 * whoever declined a request, and everyone once it is taken, does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { api, eventually, logLines, MechanicClient, type Message, registerMechanic, roundTrip, sessionView, startTestSandbox } from './clients';

let sandbox: Sandbox;
const clients: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox({ flag: 'on' });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sandbox.stop();
});

async function connect(mechanicId: string): Promise<MechanicClient> {
  const client = await MechanicClient.connect(sandbox, mechanicId);
  clients.push(client);
  return client;
}

interface Offer {
  request_id: string;
  session_id: string;
  kind: 'priority' | 'open';
  expires_at: string;
  concern: string;
  vehicle: unknown;
}
type OffersMessage = Message & { offers: Offer[]; server_time: string; truncated?: true };

/** Sends `sync` (with any extra members) and returns the one `offers` answer it got. */
async function sync(client: MechanicClient, extra: Record<string, unknown> = {}): Promise<OffersMessage> {
  const before = client.of('offers').length;
  client.send({ action: 'sync', ...extra });
  return eventually(() => client.of('offers')[before] as OffersMessage | undefined, `${client.mechanicId} to get the answer to sync`);
}

const requestIdsIn = (answer: OffersMessage): string[] => answer.offers.map((o) => o.request_id);

/** `POST /intake/start` as a new customer; returns once the request is in `state` (its routing done). */
async function book(
  state: 'offered' | 'open',
  body: Record<string, unknown> = {},
): Promise<{ requestId: string; sessionId: string; customer: string; deadline: string }> {
  const customer = `cust-${crypto.randomUUID().slice(0, 8)}`;
  const answer = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: customer }),
    body: { plan: 'free', concern: 'Sync after reconnect', vehicle: { make: 'Mazda', model: '3', year: 2021 }, ...body },
  });
  expect(answer.status).toBe(201);
  const view = await eventually(async () => {
    const seen = await sessionView(sandbox, customer, answer.body.session_id);
    return seen.request?.state === state && seen;
  }, `${answer.body.request_id} to be ${state}`);
  const deadline = state === 'offered' ? view.request!.expires_at! : view.request!.open_until!;
  return { requestId: answer.body.request_id, sessionId: answer.body.session_id, customer, deadline };
}

describe('sync', () => {
  it('a mechanic who connects after a request opened finds it in sync: one offers message with sent_at, kind open, until open_until; unknown members are ignored', async () => {
    // Arrange: the request goes out before the mechanic is online
    const booked = await book('open');
    const mechanic = await connect(await registerMechanic(sandbox));

    // Act
    const answer = await sync(mechanic, { since: 'yesterday', x: 1 });

    // Assert
    expect(mechanic.sentAt(answer)).toEqual(expect.any(String));
    expect(Date.parse(answer.server_time)).toBeLessThanOrEqual(Date.parse(mechanic.sentAt(answer)!));
    expect(answer.truncated).toBeUndefined();
    expect(answer.offers.find((o) => o.request_id === booked.requestId)).toEqual({
      request_id: booked.requestId,
      session_id: booked.sessionId,
      kind: 'open',
      expires_at: booked.deadline,
      concern: 'Sync after reconnect',
      vehicle: { make: 'Mazda', model: '3', year: 2021 },
    });
    const deadlines = answer.offers.map((o) => o.expires_at);
    expect(deadlines).toEqual([...deadlines].sort());
    // The connection stays open and answers as before.
    await roundTrip(mechanic);
    expect(mechanic.of('offers')).toHaveLength(1);
    expect(mechanic.of('error')).toEqual([]);
  });

  it('the favorite finds their priority offer (kind priority, until expires_at) after reconnecting; nobody else sees it', async () => {
    // Arrange: the favorite gets the offer, drops, and comes back on a new connection
    const favoriteId = await registerMechanic(sandbox);
    const first = await connect(favoriteId);
    const booked = await book('offered', { preferred_mechanic_id: favoriteId, routing_type: 'priority_broadcast' });
    await first.waitFor('priority_session_request', booked.requestId);
    await first.close();
    const favorite = await connect(favoriteId);
    const bystander = await connect(await registerMechanic(sandbox));

    // Act
    const [forFavorite, forBystander] = await Promise.all([sync(favorite), sync(bystander)]);

    // Assert
    expect(forFavorite.offers.filter((o) => o.request_id === booked.requestId)).toEqual([
      expect.objectContaining({ kind: 'priority', expires_at: booked.deadline, session_id: booked.sessionId }),
    ]);
    expect(requestIdsIn(forBystander)).not.toContain(booked.requestId);
  });

  it('a workshop request is in the sync of its mechanics only', async () => {
    // Arrange
    const workshopId = `ws-${crypto.randomUUID().slice(0, 8)}`;
    const booked = await book('open', { workshop_id: workshopId });
    const member = await connect(await registerMechanic(sandbox, { workshop_id: workshopId }));
    const outsider = await connect(await registerMechanic(sandbox));

    // Act
    const [forMember, forOutsider] = await Promise.all([sync(member), sync(outsider)]);

    // Assert
    expect(forMember.offers.filter((o) => o.request_id === booked.requestId)).toEqual([expect.objectContaining({ kind: 'open' })]);
    expect(requestIdsIn(forOutsider)).not.toContain(booked.requestId);
  });

  it('whoever declined a request does not see it in sync: the favorite after their decline opened it, and a mechanic who declined it open; others do', async () => {
    // Arrange
    const favoriteId = await registerMechanic(sandbox);
    const favorite = await connect(favoriteId);
    const decliner = await connect(await registerMechanic(sandbox));
    const other = await connect(await registerMechanic(sandbox));
    const booked = await book('offered', { preferred_mechanic_id: favoriteId, routing_type: 'priority_broadcast' });
    await favorite.waitFor('priority_session_request', booked.requestId);

    // Act: the favorite declines (the request opens to everyone), then another mechanic declines it too
    favorite.decline(booked.requestId);
    await eventually(async () => (await sessionView(sandbox, booked.customer, booked.sessionId)).request?.state === 'open', 'the request to open');
    decliner.decline(booked.requestId);
    await eventually(
      () => logLines(sandbox, '[Decline] Noted').some((l) => l.request_id === booked.requestId && l.mechanic_id === decliner.mechanicId),
      'the second decline to be noted',
    );
    const [forFavorite, forDecliner, forOther] = await Promise.all([sync(favorite), sync(decliner), sync(other)]);

    // Assert
    expect(requestIdsIn(forFavorite)).not.toContain(booked.requestId);
    expect(requestIdsIn(forDecliner)).not.toContain(booked.requestId);
    expect(forOther.offers.filter((o) => o.request_id === booked.requestId)).toEqual([expect.objectContaining({ kind: 'open' })]);
  });

  it('once a request is accepted nobody sees it in sync, the winner included', async () => {
    // Arrange
    const booked = await book('open');
    const winner = await connect(await registerMechanic(sandbox));
    const loser = await connect(await registerMechanic(sandbox));
    expect(requestIdsIn(await sync(loser))).toContain(booked.requestId);

    // Act
    winner.accept(booked.requestId);
    expect(await winner.waitFor('accept_result', booked.requestId)).toMatchObject({ ok: true });
    const [forWinner, forLoser] = await Promise.all([sync(winner), sync(loser)]);

    // Assert
    expect(requestIdsIn(forWinner)).not.toContain(booked.requestId);
    expect(requestIdsIn(forLoser)).not.toContain(booked.requestId);
  });
});
