/**
 * The in-memory ports the use-case tests run on. The stores pass the same
 * contract as the DynamoDB adapters on dynalite (test/integration/dynamodb-stores.test.ts);
 * the outbound recorders keep the adapters' answers (410 → 'gone', a kept
 * schedule on a second create, an absent schedule deleted quietly).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pong, requestTaken } from '../../lambdas/domain/messages';
import {
  InMemoryConnectionStore,
  InMemoryMechanicStore,
  InMemoryRequestStore,
  InMemorySessionStore,
  RecordingPusher,
  RecordingScheduler,
} from '../support/in-memory-ports';
import { describeStoreContract } from '../support/store-contract';

describeStoreContract('in-memory stores', async () => ({
  sessions: new InMemorySessionStore(),
  requests: new InMemoryRequestStore(),
  mechanics: new InMemoryMechanicStore(),
  connections: new InMemoryConnectionStore(),
}));

describe('RecordingPusher', () => {
  it("records what each connection received; a gone one answers 'gone', a broken one throws", async () => {
    // Arrange
    const pusher = new RecordingPusher();
    const [live, gone, broken] = [`conn-${randomUUID()}`, `conn-${randomUUID()}`, `conn-${randomUUID()}`];
    pusher.markGone(gone);
    pusher.markBroken(broken);

    // Act
    const results = [await pusher.send(live, pong()), await pusher.send(gone, pong())];
    const failure = pusher.send(broken, pong());

    // Assert
    expect(results).toEqual(['sent', 'gone']);
    await expect(failure).rejects.toMatchObject({ name: 'InternalServerErrorException' });
    expect(pusher.sentTo(live)).toEqual([pong()]);
    expect(pusher.sent).toEqual([{ connectionId: live, message: pong() }]);
  });

  it('a connection it disconnected is gone from then on; disconnecting a gone one is fine', async () => {
    // Arrange
    const pusher = new RecordingPusher();
    const connectionId = `conn-${randomUUID()}`;

    // Act
    await pusher.disconnect(connectionId);
    await pusher.disconnect(connectionId);
    const after = await pusher.send(connectionId, requestTaken('req-1'));

    // Assert
    expect(after).toBe('gone');
    expect(pusher.disconnected).toEqual([connectionId, connectionId]);
    expect(pusher.sentTo(connectionId)).toEqual([]);
  });
});

describe('RecordingScheduler', () => {
  it('names schedules as EventBridgeFallbackScheduler does, keeps an existing one and deletes quietly', async () => {
    // Arrange
    const scheduler = new RecordingScheduler();
    const sessionId = randomUUID();
    const requestId = `req-${sessionId}`;
    const at = new Date('2026-11-24T12:10:00.000Z');

    // Act
    await scheduler.scheduleFallback(requestId, at);
    await scheduler.scheduleFallback(requestId, new Date('2026-11-24T13:00:00.000Z'));
    await scheduler.guardRouting(sessionId, new Date('2026-11-24T12:02:00.000Z'));
    await scheduler.releaseRoutingGuard(sessionId);
    await scheduler.releaseRoutingGuard(sessionId);

    // Assert
    expect(scheduler.schedules()).toEqual([{ name: `fallback-${requestId}`, at: '2026-11-24T12:10:00.000Z', input: { request_id: requestId } }]);
    expect(scheduler.created.map((s) => s.name)).toEqual([`fallback-${requestId}`, `route-${sessionId}`]);
    expect(scheduler.deleteCalls).toEqual([`route-${sessionId}`, `route-${sessionId}`]);
  });

  it('with failCreates, creating throws and nothing is scheduled', async () => {
    // Arrange
    const scheduler = new RecordingScheduler();
    scheduler.failCreates = true;

    // Act
    const creating = scheduler.scheduleFallback(`req-${randomUUID()}`, new Date('2026-11-24T12:10:00.000Z'));

    // Assert
    await expect(creating).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(scheduler.schedules()).toEqual([]);
  });
});
