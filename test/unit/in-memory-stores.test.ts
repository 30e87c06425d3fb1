/**
 * The in-memory ports the use-case tests run on. The stores pass the same
 * contract as the DynamoDB adapters on dynalite (test/integration/dynamodb-stores.test.ts);
 * the outbound recorders keep the adapters' answers (410 → 'gone', a kept
 * timer moved by a second set, an absent timer cleared quietly).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pong, requestTaken } from '../../lambdas/domain/messages';
import {
  InMemoryBookingStore,
  InMemoryConnectionStore,
  InMemoryMechanicStore,
  InMemoryOpenBookings,
  InMemoryTicketStore,
  RecordingPusher,
  RecordingTimer,
} from '../support/in-memory-ports';
import { describeStoreContract } from '../support/store-contract';

describeStoreContract('in-memory stores', async () => ({
  bookings: new InMemoryBookingStore(),
  mechanics: new InMemoryMechanicStore(),
  connections: new InMemoryConnectionStore(),
  openBookings: new InMemoryOpenBookings(),
  tickets: new InMemoryTicketStore(),
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
    const after = await pusher.send(connectionId, requestTaken('req-1', 'accepted'));

    // Assert
    expect(after).toBe('gone');
    expect(pusher.disconnected).toEqual([connectionId, connectionId]);
    expect(pusher.sentTo(connectionId)).toEqual([]);
  });
});

describe('RecordingTimer', () => {
  it('names the timer as EventBridgeRequestTimer does, moves it on a second set and clears quietly', async () => {
    // Arrange
    const timer = new RecordingTimer();
    const requestId = `req-${randomUUID()}`;

    // Act
    await timer.set(requestId, new Date('2026-11-24T12:02:00.000Z'), 'new');
    await timer.set(requestId, new Date('2026-11-24T12:10:00.000Z'), 'existing');
    const whileSet = timer.timers();
    await timer.clear(requestId);
    await timer.clear(requestId);

    // Assert
    expect(whileSet).toEqual([{ name: `timer-${requestId}`, requestId, due: '2026-11-24T12:10:00.000Z' }]);
    expect(timer.sets.map((t) => t.due)).toEqual(['2026-11-24T12:02:00.000Z', '2026-11-24T12:10:00.000Z']);
    expect(timer.clears).toEqual([requestId, requestId]);
    expect(timer.timers()).toEqual([]);
  });

  it('with failSets, setting throws and nothing is set', async () => {
    // Arrange
    const timer = new RecordingTimer();
    timer.failSets = true;

    // Act
    const setting = timer.set(`req-${randomUUID()}`, new Date('2026-11-24T12:10:00.000Z'), 'new');

    // Assert
    await expect(setting).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(timer.timers()).toEqual([]);
  });
});
