/** What the use-case tests arrange on the in-memory deps: bookings, mechanics with live connections, unique ids. */
import { randomUUID } from 'node:crypto';
import type { MechanicStatus } from '../../../lambdas/domain/mechanic';
import type { ServerMessage } from '../../../lambdas/domain/messages';
import type { InMemoryDeps } from '../../support/in-memory-ports';

export { booking, priorityBooking } from '../../support/bookings';

export const newCustomerId = (): string => `cust-${randomUUID().slice(0, 8)}`;

export interface TestMechanic {
  mechanicId: string;
  connectionIds: string[];
}

/** Stores a mechanic and their live connections, as `$connect` indexes them (the workshop comes from the authorizer). */
export async function addMechanic(
  deps: InMemoryDeps,
  { status = 'approved', workshopId = null, connections = 1 }: { status?: MechanicStatus; workshopId?: string | null; connections?: number } = {},
): Promise<TestMechanic> {
  const mechanicId = `mech-${randomUUID().slice(0, 8)}`;
  const at = deps.clock.now().toISOString();
  await deps.mechanics.put({ mechanic_id: mechanicId, status, name: `Mechanic ${mechanicId}`, workshop_id: workshopId, updated_at: at });
  const connectionIds: string[] = [];
  for (let i = 0; i < connections; i++) {
    const connectionId = `conn-${randomUUID().slice(0, 12)}`;
    await deps.connections.put({ connection_id: connectionId, mechanic_id: mechanicId, workshop_id: workshopId, connected_at: at });
    connectionIds.push(connectionId);
  }
  return { mechanicId, connectionIds };
}

/** The mechanic's first connection, where the tests accept and decline from. */
export const phone = (mechanic: TestMechanic): string => mechanic.connectionIds[0]!;

export const received = (deps: InMemoryDeps, mechanic: TestMechanic): ServerMessage[] => deps.pusher.sentTo(phone(mechanic));

export const receivedTypes = (deps: InMemoryDeps, mechanic: TestMechanic): string[] => received(deps, mechanic).map((m) => m.type);
