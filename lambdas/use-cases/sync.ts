/**
 * Sync: what a mechanic may act on now, as ONE `offers` answer to the connection that asked — their
 * priority offers (the favorite's window) and the requests open to their audience (everyone, their
 * workshop), minus those they declined, soonest deadline first. Apps call it after every (re)connect,
 * so what was pushed while they were away is not lost; they dedupe it with the live pushes by
 * (type, request_id). Read by audience from the `pending-by-audience` index: the work grows with the
 * requests this mechanic may see, never with the number of mechanics or of bookings. A paused mechanic
 * gets no offers, so only their own priority offers (made before they paused) are listed.
 */
import { audienceKey, audienceKeysOf } from '../domain/lifecycle';
import { isPaused } from '../domain/mechanic';
import { type Offer, offersAnswer } from '../domain/messages';
import type { PendingRequest } from '../ports';
import type { Deps } from './deps';

export type SyncDeps = Pick<Deps, 'bookings' | 'mechanics' | 'pusher' | 'clock' | 'log'>;

export interface SyncingMechanic {
  readonly mechanicId: string;
  readonly workshopId: string | null;
  readonly connectionId: string;
}

export async function syncMechanic(deps: SyncDeps, input: SyncingMechanic): Promise<void> {
  const now = deps.clock.now().toISOString();
  // Read, not taken from the handshake: the mechanic may have paused or resumed since, on any device.
  const paused = isPaused(await deps.mechanics.get(input.mechanicId));
  const audiences = paused ? [audienceKey.mechanic(input.mechanicId)] : audienceKeysOf(input);
  const pending = (await Promise.all(audiences.map((audience) => deps.bookings.pendingFor(audience, now)))).flat();
  const declined = pending.length
    ? await deps.bookings.declinedBy(
        input.mechanicId,
        pending.map((request) => request.session_id),
      )
    : new Set<string>();
  const offers = pending
    .filter((request) => !declined.has(request.session_id))
    .map(offerOf)
    .sort((a, b) => (a.expires_at === b.expires_at ? compare(a.request_id, b.request_id) : compare(a.expires_at, b.expires_at)));
  const answer = offersAnswer(offers, now, paused);
  await deps.pusher.send(input.connectionId, answer);
  deps.log.info('[Sync] Offers sent', {
    mechanic_id: input.mechanicId,
    paused,
    pending: pending.length,
    declined: declined.size,
    offers: answer.offers.length,
    truncated: answer.truncated === true,
  });
}

/** Offered: the favorite's window, theirs alone; open: to their audience. Either way until its state's deadline. */
function offerOf(request: PendingRequest): Offer {
  return {
    request_id: request.request_id,
    session_id: request.session_id,
    kind: request.state === 'offered' ? 'priority' : 'open',
    expires_at: request.deadline,
    concern: request.concern,
    vehicle: request.vehicle,
  };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
