/**
 * Accept: one conditional write (`accepted` in lifecycle.ts) wins. Only the
 * booking's audience may win it — the favorite during the window, the
 * workshop's mechanics, or everyone once open; everyone else learns why not,
 * after a read of the request and no write once it has ended.
 * The winner's answer goes first; the others hear `request_taken` through
 * one asynchronous hand-over to the fan-out (a workshop, everyone; never the
 * winner's own connections; a favorite winning inside their window was the
 * whole audience, so nobody), so an accept makes the same few calls however
 * many mechanics were told; the winner's other connections hear
 * `request_taken` with `by_you` from here (one Query of its connections);
 * the customer's place among their open bookings is freed before that, and
 * the timer is cleared after (route-request.ts `finishEnding`).
 */
import { type AcceptRefusal, acceptRefusal, timeToMatchMs, wonByFavorite } from '../domain/booking';
import { isTerminal } from '../domain/lifecycle';
import { isRequestId, sessionIdOf } from '../domain/ids';
import { canWork } from '../domain/mechanic';
import { acceptResult, errorEvent } from '../domain/messages';
import type { TransitionOutcome } from '../ports';
import type { Deps } from './deps';
import { finishEnding } from './route-request';

export type AcceptDeps = Pick<Deps, 'bookings' | 'mechanics' | 'connections' | 'openBookings' | 'pusher' | 'fanOut' | 'timer' | 'clock' | 'log' | 'metrics'>;

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
  // The request first: an ended one answers everyone but its winner from this one read (most of a storm's
  // accepts arrive after the one that won), with no mechanic read and no conditional write. That write would
  // fail anyway, yet a failed conditional write still uses write capacity on that one hot item in DynamoDB
  // (a partition takes 1,000 WCU/s, 3,000 RCU/s), and is the costliest call in the sandbox.
  const current = isRequestId(input.requestId) ? await deps.bookings.get(sessionIdOf(input.requestId)) : undefined;
  if (current && isTerminal(current.state) && current.mechanic_id !== input.mechanicId) {
    // An ended request's refusal is the same for any mechanic: the workshop is not looked at.
    return refuse(deps, input, acceptRefusal(current, { mechanicId: input.mechanicId, workshopId: null }) ?? 'already_matched');
  }
  const mechanic = await deps.mechanics.get(input.mechanicId);
  if (!mechanic || !canWork(mechanic)) {
    await deps.pusher.send(input.connectionId, errorEvent('mechanic_not_approved', 'Only approved mechanics can accept requests'));
    return false;
  }
  if (!isRequestId(input.requestId)) return refuse(deps, input, 'not_found');
  const actor = { mechanicId: mechanic.mechanic_id, workshopId: mechanic.workshop_id };
  // Not theirs to take as read (unknown, another's window, another workshop's) or already theirs: no write either.
  const writeCanWin = current?.state !== 'matched' && acceptRefusal(current, actor) === null;
  const outcome: TransitionOutcome = writeCanWin ? await tryToWin(deps, input.requestId, actor) : { applied: false, booking: current };
  if (!outcome.applied) {
    // Refused, or matched by this same mechanic earlier (a retried accept: answer ok again, change nothing).
    const refusal =
      outcome.booking?.state === 'matched' && outcome.booking.mechanic_id === actor.mechanicId
        ? null
        : (acceptRefusal(outcome.booking, actor) ?? 'already_matched');
    if (refusal !== null) return refuse(deps, input, refusal);
    deps.log.info('[Accept] Accept refused', { request_id: input.requestId, mechanic_id: input.mechanicId, reason: 'already_theirs' });
    await deps.pusher.send(input.connectionId, acceptResult(input.requestId, null));
    // The winner asking again most likely never heard back: its first accept may have died before telling the others.
    await finishEnding(deps, outcome.booking!, input.connectionId);
    return true;
  }
  const booking = outcome.booking;
  deps.log.info('[Accept] Request matched', { request_id: booking.request_id, mechanic_id: input.mechanicId, routing: booking.routing });
  deps.metrics.count('OffersAccepted');
  if (wonByFavorite(booking)) deps.metrics.count('FavoriteAccepted');
  const waited = timeToMatchMs(booking);
  if (waited !== undefined) deps.metrics.milliseconds('TimeToMatchMs', waited);
  await deps.pusher.send(input.connectionId, acceptResult(booking.request_id, null));
  await finishEnding(deps, booking, input.connectionId);
  return true;
}

async function refuse(deps: AcceptDeps, input: AcceptInput, reason: AcceptRefusal): Promise<false> {
  deps.log.info('[Accept] Accept refused', { request_id: input.requestId, mechanic_id: input.mechanicId, reason });
  await deps.pusher.send(input.connectionId, acceptResult(input.requestId, reason));
  return false;
}
