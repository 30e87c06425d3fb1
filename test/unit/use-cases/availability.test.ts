/**
 * Pause and resume: the mechanic's choice is kept on the mechanic (it outlives
 * the connection) and on each connection (the fan-out reads only those), and
 * every device hears it. A paused mechanic gets no offers; what ends a
 * request still reaches them.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { newRequest, requestTaken } from '../../../lambdas/domain/messages';
import { fanOut } from '../../../lambdas/use-cases/fan-out';
import { putMechanic, setAvailability } from '../../../lambdas/use-cases/mechanics';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, openBooking, phone, received, stored } from './fixtures';

let deps: InMemoryDeps;
beforeEach(() => {
  deps = inMemoryDeps();
});

describe('pause and resume', () => {
  it('pause: the mechanic and every connection are paused, and every device hears availability', async () => {
    // Arrange
    const mechanic = await addMechanic(deps, { connections: 2 });

    // Act
    await setAvailability(deps, { mechanicId: mechanic.mechanicId, connectionId: phone(mechanic), paused: true });

    // Assert
    expect(await deps.mechanics.get(mechanic.mechanicId)).toMatchObject({ paused: true, paused_at: deps.clock.now().toISOString() });
    expect((await deps.connections.listByMechanic(mechanic.mechanicId)).map((c) => c.paused)).toEqual([true, true]);
    for (const connectionId of mechanic.connectionIds) expect(deps.pusher.sentTo(connectionId)).toEqual([{ type: 'availability', paused: true }]);
  });

  it('resume undoes it', async () => {
    // Arrange
    const mechanic = await addMechanic(deps, { paused: true });

    // Act
    await setAvailability(deps, { mechanicId: mechanic.mechanicId, connectionId: phone(mechanic), paused: false });

    // Assert
    expect(await deps.mechanics.get(mechanic.mechanicId)).toMatchObject({ paused: false });
    expect((await deps.connections.listByMechanic(mechanic.mechanicId))[0]!.paused).toBe(false);
    expect(received(deps, mechanic)).toEqual([{ type: 'availability', paused: false }]);
  });

  it('a mechanic record gone meanwhile: an error event, nothing written', async () => {
    // Act
    await setAvailability(deps, { mechanicId: 'mech-nobody', connectionId: 'conn-x', paused: true });

    // Assert
    expect(deps.pusher.sentTo('conn-x')).toEqual([expect.objectContaining({ type: 'error', code: 'mechanic_not_found' })]);
    expect(await deps.mechanics.get('mech-nobody')).toBeUndefined();
  });

  it("an admin's PUT keeps the mechanic's pause and shows it", async () => {
    // Arrange
    const mechanic = await addMechanic(deps, { paused: true });

    // Act
    const saved = await putMechanic(deps, { mechanicId: mechanic.mechanicId, status: 'approved', name: 'Renamed', workshopId: null });

    // Assert
    expect(saved).toMatchObject({ name: 'Renamed', paused: true });
    expect(await deps.mechanics.get(mechanic.mechanicId)).toMatchObject({ name: 'Renamed', paused: true });
  });

  it('a new mechanic is not paused', async () => {
    // Act
    const saved = await putMechanic(deps, { mechanicId: 'mech-new', status: 'approved', name: null, workshopId: null });

    // Assert
    expect(saved.paused).toBe(false);
  });
});

describe('the fan-out and a paused mechanic', () => {
  it('a new_request skips paused connections; request_taken still reaches them', async () => {
    // Arrange
    const paused = await addMechanic(deps, { paused: true });
    const working = await addMechanic(deps);
    const { requestId } = await openBooking(deps);
    const booking = await stored(deps, requestId);

    // Act
    await fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message: newRequest(booking, 'broadcast', booking.open_until!) });
    await fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message: requestTaken(requestId, 'cancelled') });

    // Assert
    expect(received(deps, working).map((m) => m.type)).toEqual(['new_request', 'request_taken']);
    expect(received(deps, paused).map((m) => m.type)).toEqual(['request_taken']);
  });

  it('after resume the next offer reaches them again', async () => {
    // Arrange
    const mechanic = await addMechanic(deps, { paused: true });
    await setAvailability(deps, { mechanicId: mechanic.mechanicId, connectionId: phone(mechanic), paused: false });
    const { requestId } = await openBooking(deps);
    const booking = await stored(deps, requestId);

    // Act
    await fanOut(deps, { requestId, audience: { kind: 'shard', shard: 0 }, message: newRequest(booking, 'broadcast', booking.open_until!) });

    // Assert
    expect(received(deps, mechanic).map((m) => m.type)).toEqual(['availability', 'new_request']);
  });
});
