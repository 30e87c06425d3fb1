/**
 * Accept: one conditional write (`accepted` in lifecycle.ts) wins. Only the
 * booking's audience may win it — the favorite during the window, the
 * workshop's mechanics, or everyone once open; everyone else learns why not.
 * The winner's answer goes first; the others hear `request_taken` (the
 * favorite's audience at once, everyone through the fan-out; never the
 * winner's own connections); then the timer is cleared.
 */
import { acceptRefusal, type Booking } from '../domain/booking';
import { isRequestId, sessionIdOf } from '../domain/ids';
import { canWork } from '../domain/mechanic';
import { acceptResult, errorEvent } from '../domain/messages';
import type { TransitionOutcome } from '../ports';
import type { Deps } from './deps';
import { clearTimerQuietly, tellEnd } from './route-request';

export type AcceptDeps = Pick<Deps, 'bookings' | 'mechanics' | 'connections' | 'pusher' | 'fanOut' | 'timer' | 'clock' | 'log' | 'metrics'>;

export interface AcceptInput {
  readonly requestId: string;
  readonly mechanicId: string;
  readonly connectionId: string;
}

/**
 * The `accepted` write. Refused while the favorite held the window, it may be
 * allowed a moment later (the window ended or the favorite declined between
 * the write and the read-back): then it is tried again, so "allowed now"
 * never stands in for a win.
 */
async function tryToWin(deps: AcceptDeps, requestId: string, actor: { mechanicId: string; workshopId: string | null }): Promise<TransitionOutcome> {
  let outcome: TransitionOutcome = { applied: false, booking: undefined };
  for (let attempt = 0; attempt < 3; attempt++) {
    const at = deps.clock.now().toISOString();
    outcome = await deps.bookings.transition(sessionIdOf(requestId), 'accepted', {
      now: at,
      guard: { actor },
      changes: { mechanic_id: actor.mechanicId },
      audit: { at, type: 'accepted', mechanic_id: actor.mechanicId },
    });
    if (outcome.applied || outcome.booking?.state === 'matched' || acceptRefusal(outcome.booking, actor) !== null) return outcome;
  }
  return outcome;
}

export async function acceptRequest(deps: AcceptDeps, input: AcceptInput): Promise<boolean> {
  const mechanic = await deps.mechanics.get(input.mechanicId);
  if (!mechanic || !canWork(mechanic)) {
    await deps.pusher.send(input.connectionId, errorEvent('mechanic_not_approved', 'Only approved mechanics can accept requests'));
    return false;
  }
  if (!isRequestId(input.requestId)) {
    await deps.pusher.send(input.connectionId, acceptResult(input.requestId, 'not_found'));
    return false;
  }
  const actor = { mechanicId: mechanic.mechanic_id, workshopId: mechanic.workshop_id };
  const outcome = await tryToWin(deps, input.requestId, actor);
  if (!outcome.applied) {
    // Refused, or matched by this same mechanic earlier (a retried accept: answer ok again, change nothing).
    const refusal =
      outcome.booking?.state === 'matched' && outcome.booking.mechanic_id === actor.mechanicId
        ? null
        : (acceptRefusal(outcome.booking, actor) ?? 'already_matched');
    deps.log.info('[Accept] Accept refused', { request_id: input.requestId, mechanic_id: input.mechanicId, reason: refusal ?? 'already_theirs' });
    await deps.pusher.send(input.connectionId, acceptResult(input.requestId, refusal));
    // The winner asking again most likely never heard back: its first accept may have died before telling the others.
    if (refusal === null && outcome.booking) await finishEnding(deps, outcome.booking);
    return refusal === null;
  }
  const booking = outcome.booking;
  deps.log.info('[Accept] Request matched', { request_id: booking.request_id, mechanic_id: input.mechanicId, routing: booking.routing });
  deps.metrics.count('OffersAccepted');
  await deps.pusher.send(input.connectionId, acceptResult(booking.request_id, null));
  await finishEnding(deps, booking);
  return true;
}

/** The others hear it is taken, then the timer goes (last: a timer still set means this did not finish). */
async function finishEnding(deps: AcceptDeps, booking: Booking): Promise<void> {
  await tellEnd(deps, booking);
  await clearTimerQuietly(deps, booking.request_id);
}
