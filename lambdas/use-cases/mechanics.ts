/**
 * The mechanic's side: admin upsert, and the WebSocket connection life cycle
 * (authorize the handshake, index the connection, drop it on disconnect).
 */
import { CLIENT_ID } from '../domain/ids';
import type { Mechanic, MechanicStatus } from '../domain/mechanic';
import { canWork } from '../domain/mechanic';
import type { Deps } from './deps';
import { describeError } from '../domain/errors';
import { availability, errorEvent } from '../domain/messages';
import { pushToConnections } from './tell-mechanics';

export async function putMechanic(
  deps: Pick<Deps, 'mechanics' | 'connections' | 'pusher' | 'clock' | 'log'>,
  input: { mechanicId: string; status: MechanicStatus; name: string | null; workshopId: string | null },
): Promise<Mechanic> {
  const mechanic = await deps.mechanics.put({
    mechanic_id: input.mechanicId,
    status: input.status,
    name: input.name,
    workshop_id: input.workshopId,
    updated_at: deps.clock.now().toISOString(),
  });
  deps.log.info('[mechanics] Mechanic updated', { mechanic_id: mechanic.mechanic_id, status: mechanic.status, workshop_id: mechanic.workshop_id });

  // Live connections carry the mechanic's standing: a suspended mechanic stops getting offers now, not at reconnect.
  for (const connection of await deps.connections.listByMechanic(mechanic.mechanic_id)) {
    if (!canWork(mechanic)) {
      await deps.connections.delete(connection.connection_id);
      await deps.pusher.disconnect(connection.connection_id).catch((error: unknown) =>
        deps.log.warn('Could not close the connection of a mechanic no longer approved', {
          connection_id: connection.connection_id,
          error: describeError(error),
        }),
      );
    } else if (connection.workshop_id !== mechanic.workshop_id) {
      await deps.connections.setWorkshop(connection.connection_id, mechanic.workshop_id);
    }
  }
  return mechanic;
}

export type HandshakeVerdict = { allowed: true; mechanic: Mechanic } | { allowed: false; why: string };

/** `$connect` authorizer with `?token=`: a valid token whose `sub` is an approved mechanic. */
export async function authorizeMechanic(deps: Pick<Deps, 'tokens' | 'mechanics' | 'log'>, token: string): Promise<HandshakeVerdict> {
  let subject: string;
  try {
    subject = (await deps.tokens.verify(token)).subject;
  } catch (error) {
    deps.log.info('[connect] Handshake refused: invalid token', { error: describeError(error) });
    return { allowed: false, why: 'invalid_token' };
  }
  return admitMechanic(deps, subject);
}

/** The mechanic a verified token or a redeemed ticket names may connect when approved. */
export async function admitMechanic(deps: Pick<Deps, 'mechanics' | 'log'>, subject: string): Promise<HandshakeVerdict> {
  // PUT /mechanics/{id} only makes ids of this shape; any other subject is nobody, and one too long for a table key would make the look-up fail (a 5xx).
  const mechanic = CLIENT_ID.test(subject) ? await deps.mechanics.get(subject) : undefined;
  if (!mechanic || !canWork(mechanic)) {
    deps.log.info('[connect] Handshake refused: not an approved mechanic', { mechanic_id: subject, status: mechanic?.status ?? 'unknown' });
    return { allowed: false, why: 'not_approved' };
  }
  return { allowed: true, mechanic };
}

/**
 * `paused` comes from the authorizer, which read the mechanic a moment before. A pause made on another device in
 * that moment misses this connection; the mechanic's next pause or resume (answered on every device) sets it right.
 */
export async function connectMechanic(
  deps: Pick<Deps, 'connections' | 'clock' | 'log'>,
  input: { connectionId: string; mechanicId: string; workshopId: string | null; paused: boolean },
): Promise<void> {
  await deps.connections.put({
    connection_id: input.connectionId,
    mechanic_id: input.mechanicId,
    workshop_id: input.workshopId,
    connected_at: deps.clock.now().toISOString(),
    ...(input.paused ? { paused: true } : {}),
  });
  deps.log.info('[connect] Mechanic connected', { connection_id: input.connectionId, mechanic_id: input.mechanicId });
}

/**
 * `pause` / `resume`: remembered on the mechanic (so it outlives the connection) and copied onto each of their
 * connections (so a fan-out skips them from the connection item alone); every device hears the new state.
 * Offers already received stay valid: a paused mechanic may still accept them.
 */
export async function setAvailability(
  deps: Pick<Deps, 'mechanics' | 'connections' | 'pusher' | 'clock' | 'log' | 'metrics'>,
  input: { mechanicId: string; connectionId: string; paused: boolean },
): Promise<void> {
  const mechanic = await deps.mechanics.setPaused(input.mechanicId, input.paused, deps.clock.now().toISOString());
  if (!mechanic) {
    await deps.pusher.send(input.connectionId, errorEvent('mechanic_not_found', 'No such mechanic; ask an admin to register you'));
    return;
  }
  // The calling connection by its id: the index may not show one made a moment ago (it is eventually consistent).
  const others = (await deps.connections.listByMechanic(input.mechanicId)).filter((c) => c.connection_id !== input.connectionId);
  const devices = [{ connection_id: input.connectionId, mechanic_id: input.mechanicId }, ...others];
  for (const connection of devices) await deps.connections.setPaused(connection.connection_id, input.paused);
  deps.log.info(input.paused ? '[availability] Mechanic paused' : '[availability] Mechanic resumed', {
    mechanic_id: input.mechanicId,
    connections: devices.length,
  });
  await pushToConnections(deps, devices, availability(input.paused));
}

export async function disconnectMechanic(deps: Pick<Deps, 'connections' | 'log'>, input: { connectionId: string; mechanicId?: string }): Promise<void> {
  await deps.connections.delete(input.connectionId);
  deps.log.info('[connect] Mechanic disconnected', { connection_id: input.connectionId, mechanic_id: input.mechanicId });
}
