/**
 * What dispatch apps rely on (issue #10), with real `ws` clients against the
 * sandbox: every server message says when the server sent it (`sent_at`),
 * `new_request` says until when the request stays open (`expires_at`), and a
 * winner's other devices hear `request_taken` with `by_you`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import {
  api,
  bookingsOfCustomer,
  eventsOf,
  eventually,
  MechanicClient,
  type Message,
  registerMechanic,
  roundTrip,
  sessionView,
  startTestSandbox,
} from './clients';

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

/** `POST /intake/start` as a new customer: the request id and the customer. */
async function book(body: Record<string, unknown> = {}): Promise<{ requestId: string; sessionId: string; customer: string }> {
  const customer = `cust-${crypto.randomUUID().slice(0, 8)}`;
  const answer = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
    token: await sandbox.token({ sub: customer }),
    body: { plan: 'free', concern: 'Dispatch features', ...body },
  });
  expect(answer.status).toBe(201);
  return { requestId: answer.body.request_id, sessionId: answer.body.session_id, customer };
}

describe('sent_at and expires_at', () => {
  it("every message a mechanic hears carries sent_at, the server's time as it sent it; new_request carries expires_at, the request's open_until", async () => {
    // Arrange
    const mechanic = await connect(await registerMechanic(sandbox));
    const before = Date.now();

    // Act: a broadcast, a ping, a message that makes no sense
    const booked = await book();
    const offer = await mechanic.waitFor('new_request', booked.requestId);
    mechanic.send('not json');
    await mechanic.waitFor('error');
    await roundTrip(mechanic);
    const after = Date.now();

    // Assert: each one stamped within the test's own time (one machine, one clock)
    const heard: Message[] = [offer, mechanic.of('error')[0]!, mechanic.of('pong')[0]!];
    for (const message of heard) {
      const sentAt = Date.parse(mechanic.sentAt(message) ?? '');
      expect(sentAt, `${message.type} sent_at`).toBeGreaterThanOrEqual(before);
      expect(sentAt, `${message.type} sent_at`).toBeLessThanOrEqual(after);
      expect(sentAt, `${message.type} sent before it arrived`).toBeLessThanOrEqual(mechanic.receivedAt(message));
    }
    const view = await sessionView(sandbox, booked.customer, booked.sessionId);
    expect(offer.expires_at).toBe(view.request!.open_until);
    expect(Date.parse(String(offer.expires_at))).toBeGreaterThan(Date.parse(mechanic.sentAt(offer)!));
  });
});

describe('request_taken tells the truth', () => {
  it('the winner’s other device hears request_taken by_you, the accepting one only its accept_result, another mechanic request_taken without by_you', async () => {
    // Arrange: one mechanic on a phone and a tablet, another on a phone
    const winnerId = await registerMechanic(sandbox);
    const phone = await connect(winnerId);
    const tablet = await connect(winnerId);
    const other = await connect(await registerMechanic(sandbox));
    const booked = await book();
    await Promise.all([phone, tablet, other].map((c) => c.waitFor('new_request', booked.requestId)));

    // Act
    phone.accept(booked.requestId);

    // Assert
    expect(await phone.waitFor('accept_result', booked.requestId)).toEqual({ type: 'accept_result', request_id: booked.requestId, ok: true });
    expect(await tablet.waitFor('request_taken', booked.requestId)).toEqual({
      type: 'request_taken',
      request_id: booked.requestId,
      reason: 'accepted',
      by_you: true,
    });
    expect(await other.waitFor('request_taken', booked.requestId)).toEqual({ type: 'request_taken', request_id: booked.requestId, reason: 'accepted' });
    await roundTrip(phone);
    expect(phone.of('request_taken', booked.requestId)).toEqual([]);
  });

  it('a favorite who wins on one device: their other device hears by_you, nobody else hears anything', async () => {
    // Arrange
    const favoriteId = await registerMechanic(sandbox);
    const phone = await connect(favoriteId);
    const tablet = await connect(favoriteId);
    const bystander = await connect(await registerMechanic(sandbox));
    const booked = await book({ preferred_mechanic_id: favoriteId, routing_type: 'priority_broadcast' });
    await Promise.all([phone, tablet].map((c) => c.waitFor('priority_session_request', booked.requestId)));

    // Act
    tablet.accept(booked.requestId);

    // Assert
    expect(await tablet.waitFor('accept_result', booked.requestId)).toMatchObject({ ok: true });
    expect(await phone.waitFor('request_taken', booked.requestId)).toEqual({
      type: 'request_taken',
      request_id: booked.requestId,
      reason: 'accepted',
      by_you: true,
    });
    await Promise.all([tablet, bystander].map((c) => roundTrip(c)));
    expect(tablet.of('request_taken', booked.requestId)).toEqual([]);
    expect(bystander.messages.filter((m) => m.request_id === booked.requestId)).toEqual([]);
  });
});

describe('decliners are left out', () => {
  it('the favorite who declines is not offered the request again by the fallback; the others are; a cancel still reaches all of them', async () => {
    // Arrange
    const favoriteId = await registerMechanic(sandbox);
    const favorite = await connect(favoriteId);
    const other = await connect(await registerMechanic(sandbox));
    const booked = await book({ preferred_mechanic_id: favoriteId, routing_type: 'priority_broadcast' });
    await favorite.waitFor('priority_session_request', booked.requestId);

    // Act
    favorite.decline(booked.requestId);
    const fallback = await other.waitFor('new_request', booked.requestId);
    const cancelled = await api(sandbox, 'POST', `/sessions/${booked.sessionId}/cancel`, { token: await sandbox.token({ sub: booked.customer }) });

    // Assert
    expect(fallback).toMatchObject({ reason: 'priority_declined' });
    expect(cancelled.status).toBe(200);
    expect(await favorite.waitFor('request_taken', booked.requestId)).toMatchObject({ reason: 'cancelled' });
    expect(await other.waitFor('request_taken', booked.requestId)).toMatchObject({ reason: 'cancelled' });
    expect(favorite.of('new_request', booked.requestId)).toEqual([]);
  });
});

describe('pause and resume', () => {
  it('a paused mechanic gets no offers, on any device, across a reconnect, until they resume; what ends a request still reaches them; admins see it', async () => {
    // Arrange: one mechanic on a phone and a tablet, another at work
    const mechanicId = await registerMechanic(sandbox);
    const phone = await connect(mechanicId);
    const tablet = await connect(mechanicId);
    const worker = await connect(await registerMechanic(sandbox));

    // Act + Assert: pause, heard on both devices
    phone.send({ action: 'pause' });
    expect(await phone.waitFor('availability')).toEqual({ type: 'availability', paused: true });
    expect(await tablet.waitFor('availability')).toEqual({ type: 'availability', paused: true });

    // Act + Assert: a broadcast reaches the worker, not the paused devices; its cancel reaches all
    const first = await book();
    await worker.waitFor('new_request', first.requestId);
    await api(sandbox, 'POST', `/sessions/${first.sessionId}/cancel`, { token: await sandbox.token({ sub: first.customer }) });
    await Promise.all([phone, tablet].map((c) => c.waitFor('request_taken', first.requestId)));
    expect([...phone.of('new_request'), ...tablet.of('new_request')]).toEqual([]);

    // Act + Assert: the pause outlives the connection
    await Promise.all([phone.close(), tablet.close()]);
    const again = await connect(mechanicId);
    const second = await book();
    await worker.waitFor('new_request', second.requestId);
    await api(sandbox, 'POST', `/sessions/${second.sessionId}/cancel`, { token: await sandbox.token({ sub: second.customer }) });
    await again.waitFor('request_taken', second.requestId);
    expect(again.of('new_request')).toEqual([]);

    // Act + Assert: an admin's PUT shows it, and keeps it
    const admin = await sandbox.token({ sub: 'ops', scope: 'admin' });
    const put = await api(sandbox, 'PUT', `/mechanics/${mechanicId}`, { token: admin, body: { status: 'approved', name: 'Renamed' } });
    expect(put.body).toMatchObject({ mechanic_id: mechanicId, name: 'Renamed', paused: true });

    // Act + Assert: resume, and the next offer arrives
    again.send({ action: 'resume' });
    await eventually(() => again.of('availability').find((m) => m.paused === false), 'availability paused: false');
    const third = await book();
    await again.waitFor('new_request', third.requestId);
  });

  it('a paused favorite is skipped at once: the request opens to everyone (priority_failed, why mechanic_paused)', async () => {
    // Arrange
    const favoriteId = await registerMechanic(sandbox);
    const favorite = await connect(favoriteId);
    favorite.send({ action: 'pause' });
    await favorite.waitFor('availability');
    const other = await connect(await registerMechanic(sandbox));

    // Act
    const booked = await book({ preferred_mechanic_id: favoriteId, routing_type: 'priority_broadcast' });

    // Assert
    expect(await other.waitFor('new_request', booked.requestId)).toMatchObject({ reason: 'priority_failed' });
    const view = await sessionView(sandbox, booked.customer, booked.sessionId);
    expect(eventsOf(view, 'priority_failed')).toEqual([expect.objectContaining({ mechanic_id: favoriteId, why: 'mechanic_paused' })]);
    await roundTrip(favorite);
    expect(favorite.of('priority_session_request')).toEqual([]);
  });
});

describe('favorites in order', () => {
  it('an offline first favorite is skipped, the second declines, the third declines: each step audited, then everyone but the decliners', async () => {
    // Arrange: the first favorite registered but not connected
    const offlineId = await registerMechanic(sandbox);
    const [secondId, thirdId] = [await registerMechanic(sandbox), await registerMechanic(sandbox)];
    const second = await connect(secondId);
    const third = await connect(thirdId);
    const bystander = await connect(await registerMechanic(sandbox));

    // Act + Assert: the second favorite holds the window, named as the holder
    const booked = await book({ preferred_mechanic_ids: [offlineId, secondId, thirdId], routing_type: 'priority_broadcast' });
    await second.waitFor('priority_session_request', booked.requestId);
    const whileSecond = await sessionView(sandbox, booked.customer, booked.sessionId);
    expect(whileSecond.request).toMatchObject({ state: 'offered', metadata: { priority_mechanic_id: secondId } });
    expect(whileSecond.metadata).toEqual({
      preferred_mechanic_id: offlineId,
      preferred_mechanic_ids: [offlineId, secondId, thirdId],
      routing_type: 'priority_broadcast',
    });

    // Act + Assert: the second declines, the third holds it
    second.decline(booked.requestId);
    await third.waitFor('priority_session_request', booked.requestId);
    expect((await sessionView(sandbox, booked.customer, booked.sessionId)).request).toMatchObject({ metadata: { priority_mechanic_id: thirdId } });

    // Act + Assert: the third declines, everyone else hears it
    third.decline(booked.requestId);
    expect(await bystander.waitFor('new_request', booked.requestId)).toMatchObject({ reason: 'priority_declined' });
    const view = await sessionView(sandbox, booked.customer, booked.sessionId);
    expect(view.request!.events.map((e) => e.type)).toEqual([
      'created',
      'favorite_skipped',
      'priority_offer_sent',
      'declined',
      'priority_offer_sent',
      'declined',
      'broadcast_sent',
    ]);
    expect(eventsOf(view, 'favorite_skipped')).toEqual([
      expect.objectContaining({ mechanic_id: offlineId, why: 'mechanic_offline', next_mechanic_id: secondId }),
    ]);
    expect(eventsOf(view, 'declined')).toEqual([
      expect.objectContaining({ mechanic_id: secondId, next_mechanic_id: thirdId }),
      expect.objectContaining({ mechanic_id: thirdId }),
    ]);

    // The decliners are left out of the broadcast: a cancel reaches them, the offer did not
    await api(sandbox, 'POST', `/sessions/${booked.sessionId}/cancel`, { token: await sandbox.token({ sub: booked.customer }) });
    await Promise.all([second, third].map((c) => c.waitFor('request_taken', booked.requestId)));
    expect([...second.of('new_request', booked.requestId), ...third.of('new_request', booked.requestId)]).toEqual([]);
  });

  it('bad favorites get a 400 naming the field, and nothing is booked', async () => {
    // Arrange
    const customer = `cust-${crypto.randomUUID().slice(0, 8)}`;
    const token = await sandbox.token({ sub: customer });

    // Act
    const answers = await Promise.all(
      [
        { preferred_mechanic_ids: ['m1', 'm2', 'm3', 'm4'] },
        { preferred_mechanic_ids: ['m1', 'm1'] },
        { preferred_mechanic_id: 'm2', preferred_mechanic_ids: ['m1', 'm2'] },
      ].map((favorites) =>
        api<{ error: { code: string; message: string } }>(sandbox, 'POST', '/intake/start', { token, body: { plan: 'free', concern: 'x', ...favorites } }),
      ),
    );

    // Assert
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400]);
    expect(answers.map((a) => a.body.error.message.split(':')[0])).toEqual(['preferred_mechanic_ids', 'preferred_mechanic_ids', 'preferred_mechanic_id']);
    expect(await bookingsOfCustomer(sandbox, customer)).toEqual([]);
  });
});
