/**
 * Message flooding, the use case on the DynamoDB adapter (dynalite's real conditional writes) with an
 * injected clock: a connection's messages past the limit in one second do nothing, the first of them tells
 * the client `rate_limited` once, the next second starts afresh, and another connection is not touched.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { admitMessage, type MessageRateDeps } from '../../lambdas/use-cases/message-rate';
import { ManualClock, RecordingLogger, RecordingPusher } from '../support/in-memory-ports';
import { createTestTable } from '../support/table';

let deps: MessageRateDeps & { pusher: RecordingPusher; clock: ManualClock; log: RecordingLogger };
const phone = () => `conn-${randomUUID()}`;

beforeEach(async () => {
  const table = await createTestTable();
  deps = {
    connections: new DynamoDbConnectionStore(table.db, table.tableName),
    pusher: new RecordingPusher(),
    // 12:00:00.000: a window starts here.
    clock: new ManualClock(new Date('2026-11-24T12:00:00.000Z')),
    log: new RecordingLogger(),
    messageRateLimit: 3,
  };
});

/** Admits `n` messages of the connection one after another, at the clock's present moment. */
async function send(connectionId: string, n: number): Promise<boolean[]> {
  const admitted: boolean[] = [];
  for (let i = 0; i < n; i++) admitted.push(await admitMessage(deps, { connectionId, senderId: 'mech-flood' }));
  return admitted;
}

describe('admitMessage', () => {
  it('admits the limit, then ignores the rest of the second, telling the client once', async () => {
    // Arrange
    const flooder = phone();

    // Act
    const admitted = await send(flooder, 6);

    // Assert
    expect(admitted).toEqual([true, true, true, false, false, false]);
    expect(deps.pusher.sentTo(flooder)).toEqual([
      { type: 'error', code: 'rate_limited', message: 'more than 3 messages in one second: this one and the rest of this second are ignored' },
    ]);
    expect(deps.log.lines.filter((l) => l.message.startsWith('[RateLimit]'))).toEqual([
      expect.objectContaining({ level: 'WARN', fields: { connectionId: flooder, sender_id: 'mech-flood', limit: 3 } }),
    ]);
  });

  it('starts again at the next second (not one second after the first message), and tells again only if flooded again', async () => {
    // Arrange: the limit reached late in a second
    const flooder = phone();
    deps.clock.advance(0.998);
    await send(flooder, 4);

    // Act: 2 ms later is the next second
    deps.clock.advance(0.002);
    const nextSecond = await send(flooder, 4);

    // Assert
    expect(nextSecond).toEqual([true, true, true, false]);
    expect(deps.pusher.sentTo(flooder).map((m) => (m as { code?: string }).code)).toEqual(['rate_limited', 'rate_limited']);
  });

  it('another connection in the same second is not touched', async () => {
    // Arrange
    const [flooder, bystander] = [phone(), phone()];
    await send(flooder, 10);

    // Act
    const admitted = await send(bystander, 3);

    // Assert
    expect(admitted).toEqual([true, true, true]);
    expect(deps.pusher.sentTo(bystander)).toEqual([]);
  });
});
