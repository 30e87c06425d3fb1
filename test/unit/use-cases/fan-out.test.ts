/**
 * The fan-out function's work: a message for everyone is split into one
 * asynchronous invocation per connection shard; a shard, a workshop or a
 * mechanic is pushed here — a gone connection pruned, a failing one retried,
 * and an invocation whose pushes still fail throws so Lambda runs it again.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CONNECTION_SHARDS } from '../../../contract/table-schema';
import { newRequest, requestTaken } from '../../../lambdas/domain/messages';
import { fanOut } from '../../../lambdas/use-cases/fan-out';
import { PushFailedError } from '../../../lambdas/ports';
import { PUSH_ATTEMPTS } from '../../../lambdas/use-cases/tell-mechanics';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, openBooking, phone, received, stored } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps();
});

/** A `new_request` as routing hands it over. */
async function newRequestMessage() {
  const { requestId } = await openBooking(deps);
  deps.fanOut.sent.length = 0;
  return { requestId, message: newRequest(await stored(deps, requestId), 'broadcast', '2026-11-28T13:00:00.000Z') };
}

describe('fanOut', () => {
  it('everyone: one fan-out invocation per connection shard, the exception passed on, nobody pushed here', async () => {
    // Arrange
    await addMechanic(deps);
    const { requestId, message } = await newRequestMessage();

    // Act
    const result = await fanOut(deps, { requestId, audience: { kind: 'everyone' }, message, exceptConnectionId: 'conn-winner' });

    // Assert
    expect(deps.connections.shards).toBe(CONNECTION_SHARDS);
    expect(result).toEqual({ shards: CONNECTION_SHARDS });
    expect(deps.fanOut.sent).toEqual(
      Array.from({ length: CONNECTION_SHARDS }, (_, shard) => ({ requestId, audience: { kind: 'shard', shard }, message, exceptConnectionId: 'conn-winner' })),
    );
    expect(deps.pusher.sent).toEqual([]);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(0);
  });

  it("a shard: pushes each of its connections but the excepted one; BroadcastsDelivered counts a new_request's deliveries", async () => {
    // Arrange
    const first = await addMechanic(deps, { connections: 2 });
    const second = await addMechanic(deps);
    const { requestId, message } = await newRequestMessage();

    // Act
    const result = await fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message, exceptConnectionId: first.connectionIds[1]! });

    // Assert
    expect(result).toEqual({ delivered: 2, gone: 0, failed: 0 });
    expect(received(deps, first)).toEqual([message]);
    expect(received(deps, second)).toEqual([message]);
    expect(deps.pusher.sentTo(first.connectionIds[1]!)).toEqual([]);
    expect(deps.fanOut.sent).toEqual([]);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(2);
  });

  it('an empty shard delivers nothing, succeeds, and logs and counts nothing', async () => {
    // Arrange
    await addMechanic(deps);
    const { requestId, message } = await newRequestMessage();
    const countedBefore = deps.metrics.counted.length; // the booking's own

    // Act
    const result = await fanOut(deps, { requestId, audience: { kind: 'shard', shard: 1 }, message });

    // Assert
    expect(result).toEqual({ delivered: 0, gone: 0, failed: 0 });
    expect(deps.pusher.sent).toEqual([]);
    expect(deps.log.messages('[FanOut]')).toEqual([]);
    expect(deps.metrics.counted.slice(countedBefore)).toEqual([]);
  });

  it("a workshop: pushes that workshop's connections only", async () => {
    // Arrange
    const inside = await addMechanic(deps, { workshopId: 'ws-north', connections: 2 });
    const outside = await addMechanic(deps, { workshopId: 'ws-south' });
    const unaffiliated = await addMechanic(deps);
    const { requestId, message } = await newRequestMessage();

    // Act
    const result = await fanOut(deps, { requestId, audience: { kind: 'workshop', workshopId: 'ws-north' }, message });

    // Assert
    expect(result).toEqual({ delivered: 2, gone: 0, failed: 0 });
    for (const connectionId of inside.connectionIds) expect(deps.pusher.sentTo(connectionId)).toEqual([message]);
    expect(received(deps, outside)).toEqual([]);
    expect(received(deps, unaffiliated)).toEqual([]);
  });

  it('request_taken is delivered but not counted as a broadcast', async () => {
    // Arrange
    const mechanic = await addMechanic(deps);
    const { requestId } = await newRequestMessage();
    const message = requestTaken(requestId, 'accepted');

    // Act
    await fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message });

    // Assert
    expect(received(deps, mechanic)).toEqual([message]);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(0);
  });

  it('a gone connection (410) is pruned; the others are delivered', async () => {
    // Arrange
    const healthy = await addMechanic(deps);
    const gone = await addMechanic(deps);
    deps.pusher.markGone(phone(gone));
    const { requestId, message } = await newRequestMessage();

    // Act
    const result = await fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message });

    // Assert
    expect(result).toEqual({ delivered: 1, gone: 1, failed: 0 });
    expect(received(deps, healthy)).toEqual([message]);
    expect(await deps.connections.listByMechanic(gone.mechanicId)).toEqual([]);
    expect(await deps.connections.listByMechanic(healthy.mechanicId)).toHaveLength(1);
    expect(deps.metrics.total('StaleConnectionsPruned')).toBe(1);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(1);
  });

  it('a broken connection is tried PUSH_ATTEMPTS times, the others still pushed, then the invocation throws for a retry', async () => {
    // Arrange
    const healthy = [await addMechanic(deps), await addMechanic(deps)];
    const broken = await addMechanic(deps);
    deps.pusher.markBroken(phone(broken));
    const { requestId, message } = await newRequestMessage();
    const send = vi.spyOn(deps.pusher, 'send');

    // Act
    const invocation = fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message });

    // Assert
    await expect(invocation).rejects.toThrow('1 pushes still failed after their retries');
    expect(PUSH_ATTEMPTS).toBe(3);
    expect(send.mock.calls.filter(([connectionId]) => connectionId === phone(broken))).toHaveLength(PUSH_ATTEMPTS);
    for (const m of healthy) expect(received(deps, m)).toEqual([message]);
    expect(await deps.connections.listByMechanic(broken.mechanicId)).toHaveLength(1);
    expect(deps.metrics.total('PushFailures')).toBe(1);
    expect(deps.metrics.total('BroadcastsDelivered')).toBe(2);
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'Push to a connection failed',
        fields: expect.objectContaining({ connection_id: phone(broken), attempts: PUSH_ATTEMPTS }),
      }),
    );
  });

  it('a push that fails once and then goes through is delivered, not failed', async () => {
    // Arrange
    const flaky = await addMechanic(deps);
    const { requestId, message } = await newRequestMessage();
    const send = deps.pusher.send.bind(deps.pusher);
    let failures = 1;
    vi.spyOn(deps.pusher, 'send').mockImplementation((connectionId, m) => (failures-- > 0 ? Promise.reject(new Error('Throttled')) : send(connectionId, m)));

    // Act
    const result = await fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message });

    // Assert
    expect(result).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect(received(deps, flaky)).toEqual([message]);
    expect(deps.metrics.total('PushFailures')).toBe(0);
  });

  it('a push refused outright (a 403: not throttling, not a server error) is tried once, counted, and the invocation throws', async () => {
    // Arrange
    const refused = await addMechanic(deps);
    const { requestId, message } = await newRequestMessage();
    const send = vi.spyOn(deps.pusher, 'send').mockRejectedValue(new PushFailedError('PostToConnection answered 403 ForbiddenException', false));

    // Act
    const invocation = fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message });

    // Assert
    await expect(invocation).rejects.toThrow('1 pushes still failed after their retries');
    expect(send.mock.calls.filter(([connectionId]) => connectionId === phone(refused))).toHaveLength(1);
    expect(deps.metrics.total('PushFailures')).toBe(1);
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({ message: 'Push to a connection failed', fields: expect.objectContaining({ attempts: 1 }) }),
    );
  });
});
