/** What the use-case tests arrange on the in-memory deps: bookings, mechanics with live connections, unique ids, the fan-out run. */
import { randomUUID } from 'node:crypto';
import type { Booking } from '../../../lambdas/domain/booking';
import type { MechanicStatus } from '../../../lambdas/domain/mechanic';
import type { ServerMessage } from '../../../lambdas/domain/messages';
import type { Exclusion } from '../../../lambdas/ports';
import { startIntake } from '../../../lambdas/use-cases/booking';
import { fanOut } from '../../../lambdas/use-cases/fan-out';
import type { InMemoryDeps } from '../../support/in-memory-ports';
import { booking, priorityBooking } from '../../support/bookings';

export { booking, priorityBooking } from '../../support/bookings';

export const newCustomerId = (): string => `cust-${randomUUID().slice(0, 8)}`;

export interface TestMechanic {
  mechanicId: string;
  connectionIds: string[];
}

/** Stores a mechanic and their live connections, as `$connect` indexes them (the workshop comes from the authorizer). */
export async function addMechanic(
  deps: InMemoryDeps,
  {
    status = 'approved',
    workshopId = null,
    connections = 1,
    paused = false,
  }: { status?: MechanicStatus; workshopId?: string | null; connections?: number; paused?: boolean } = {},
): Promise<TestMechanic> {
  const mechanicId = `mech-${randomUUID().slice(0, 8)}`;
  const at = deps.clock.now().toISOString();
  await deps.mechanics.put({ mechanic_id: mechanicId, status, name: `Mechanic ${mechanicId}`, workshop_id: workshopId, updated_at: at });
  if (paused) await deps.mechanics.setPaused(mechanicId, true, at);
  const connectionIds: string[] = [];
  for (let i = 0; i < connections; i++) {
    const connectionId = `conn-${randomUUID().slice(0, 12)}`;
    await deps.connections.put({
      connection_id: connectionId,
      mechanic_id: mechanicId,
      workshop_id: workshopId,
      connected_at: at,
      ...(paused ? { paused: true } : {}),
    });
    connectionIds.push(connectionId);
  }
  return { mechanicId, connectionIds };
}

/** The mechanic's first connection, where the tests accept and decline from. */
export const phone = (mechanic: TestMechanic): string => mechanic.connectionIds[0]!;

/** What the mechanic's first connection was pushed, in order (inline pushes, and fan-out pushes once `deliverFanOut` ran them). */
export const received = (deps: InMemoryDeps, mechanic: TestMechanic): ServerMessage[] => deps.pusher.sentTo(phone(mechanic));

export const receivedTypes = (deps: InMemoryDeps, mechanic: TestMechanic): string[] => received(deps, mechanic).map((m) => m.type);

/** The booking as stored; fails the test when it is not. */
export async function stored(deps: InMemoryDeps, sessionOrRequestId: string): Promise<Booking> {
  const found = await deps.bookings.get(sessionOrRequestId.replace(/^req-/, ''));
  if (!found) throw new Error(`no booking ${sessionOrRequestId}`);
  return found;
}

/** The ISO instant `seconds` after the ManualClock's start (2026-11-24T12:00:00Z). */
export const at = (seconds: number): string => new Date(Date.parse('2026-11-24T12:00:00.000Z') + seconds * 1000).toISOString();

const deliveredUpTo = new WeakMap<InMemoryDeps, number>();

/**
 * Runs what was handed to the fan-out (and what that hands on: everyone's
 * shards) through the fan-out use case, as the async invocations would. A
 * failing invocation is collected, not thrown: each is run once.
 */
export async function deliverFanOut(deps: InMemoryDeps): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (let i = deliveredUpTo.get(deps) ?? 0; i < deps.fanOut.sent.length; i++) {
    deliveredUpTo.set(deps, i + 1);
    const handedOver: (typeof deps.fanOut.sent)[number] & Exclusion = deps.fanOut.sent[i]!;
    const { requestId, audience, message, exceptConnectionId, exceptMechanicId } = handedOver;
    try {
      await fanOut(deps, {
        requestId,
        audience,
        message,
        ...(exceptConnectionId ? { exceptConnectionId } : {}),
        ...(exceptMechanicId ? { exceptMechanicId } : {}),
      });
    } catch (error) {
      failures.push(error);
    }
  }
  return failures;
}

/** A free broadcast booking, routed and open to everyone. */
export async function openBooking(deps: InMemoryDeps, customerId = newCustomerId()): Promise<{ customerId: string; sessionId: string; requestId: string }> {
  const answer = await startIntake(deps, { customerId, booking: booking() });
  return { customerId, sessionId: answer.session_id, requestId: answer.request_id! };
}

/** A free priority booking offered to `favorite` (the flag must be on). */
export async function offeredBooking(
  deps: InMemoryDeps,
  favorite: TestMechanic,
  customerId = newCustomerId(),
): Promise<{ customerId: string; sessionId: string; requestId: string }> {
  const answer = await startIntake(deps, { customerId, booking: priorityBooking(favorite.mechanicId) });
  return { customerId, sessionId: answer.session_id, requestId: answer.request_id! };
}

/**
 * A free booking whose intake died after its write, before it told anyone
 * (the fan-out hand-over or the favorite's look-up failed): left in `routing`.
 */
export async function bookingLeftInRouting(
  deps: InMemoryDeps,
  input: { customerId?: string; idempotencyKey?: string; favorite?: TestMechanic } = {},
): Promise<{ customerId: string; sessionId: string; requestId: string }> {
  const customerId = input.customerId ?? newCustomerId();
  const get = deps.mechanics.get;
  deps.fanOut.failSends = true;
  deps.mechanics.get = () => Promise.reject(Object.assign(new Error('Task timed out'), { name: 'TimeoutError' }));
  try {
    await startIntake(deps, {
      customerId,
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
      booking: input.favorite ? priorityBooking(input.favorite.mechanicId) : booking(),
    }).then(
      () => Promise.reject(new Error('expected the intake to die')),
      () => undefined,
    );
  } finally {
    deps.fanOut.failSends = false;
    deps.mechanics.get = get;
  }
  const [left] = deps.bookings.all().filter((b) => b.customer_id === customerId && b.state === 'routing');
  if (!left) throw new Error('no booking left in routing');
  return { customerId, sessionId: left.session_id, requestId: left.request_id };
}
