/**
 * Favorites in order, when nobody answers: each favorite's window lapses in
 * turn (the request's one timer, firing at each window's end), then the
 * request opens to everyone. A short window, in its own sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { api, eventsOf, MechanicClient, registerMechanic, sessionView, startTestSandbox } from './clients';

const WINDOW_SECONDS = 3;
let sandbox: Sandbox;
const clients: MechanicClient[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox({ flag: 'on', priorityWindowSeconds: WINDOW_SECONDS });
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

describe('favorites whose windows lapse', () => {
  it('the first window lapses, the second favorite gets a whole window of their own, then the request opens to everyone (reason fallback)', async () => {
    // Arrange
    const [firstId, secondId] = [await registerMechanic(sandbox), await registerMechanic(sandbox)];
    const first = await connect(firstId);
    const second = await connect(secondId);
    const bystander = await connect(await registerMechanic(sandbox));
    const customer = `cust-${crypto.randomUUID().slice(0, 8)}`;

    // Act
    const answer = await api<{ session_id: string; request_id: string }>(sandbox, 'POST', '/intake/start', {
      token: await sandbox.token({ sub: customer }),
      body: { plan: 'free', concern: 'Nobody answers', preferred_mechanic_ids: [firstId, secondId], routing_type: 'priority_broadcast' },
    });
    const requestId = answer.body.request_id;

    // Assert: the windows one after the other, each whole
    const firstOffer = await first.waitFor('priority_session_request', requestId);
    const secondOffer = await second.waitFor('priority_session_request', requestId);
    expect(second.receivedAt(secondOffer)).toBeGreaterThanOrEqual(Date.parse(String(firstOffer.expires_at)));
    expect(Date.parse(String(secondOffer.expires_at)) - Date.parse(String(firstOffer.expires_at))).toBeGreaterThanOrEqual(WINDOW_SECONDS * 1000);
    expect(await bystander.waitFor('new_request', requestId)).toMatchObject({ reason: 'fallback' });
    expect(bystander.receivedAt(bystander.of('new_request', requestId)[0]!)).toBeGreaterThanOrEqual(Date.parse(String(secondOffer.expires_at)));
    expect(first.of('priority_session_request', requestId)).toHaveLength(1);
    await first.waitFor('new_request', requestId);

    const view = await sessionView(sandbox, customer, answer.body.session_id);
    expect(view.request!.events.map((e) => e.type)).toEqual([
      'created',
      'priority_offer_sent',
      'priority_window_ended',
      'priority_offer_sent',
      'fallback_started',
      'broadcast_sent',
    ]);
    expect(eventsOf(view, 'priority_window_ended')).toEqual([expect.objectContaining({ mechanic_id: firstId, next_mechanic_id: secondId })]);
    expect(view.request!.metadata).toMatchObject({ priority_mechanic_id: secondId, fallback_reason: 'preferred_mechanic_no_response' });
  });
});
