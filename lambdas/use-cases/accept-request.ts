/**
 * Accept: the first conditional write wins. Inside the priority window only
 * the favorite may win; everyone else learns why not. The winner's schedule
 * is deleted and every mechanic the request was offered to gets `request_taken`.
 */
import { acceptResult, errorEvent, requestTaken } from '../domain/messages';
import { canWork } from '../domain/mechanic';
import { acceptRefusal, offeredTo } from '../domain/request';
import { cancelScheduleQuietly } from './cancel-schedule-quietly';
import type { Deps } from './deps';
import { pushToAudience } from './push-to-audience';

export type AcceptDeps = Pick<Deps, 'requests' | 'mechanics' | 'connections' | 'pusher' | 'scheduler' | 'clock' | 'log' | 'metrics'>;

export interface AcceptInput {
  readonly requestId: string;
  readonly mechanicId: string;
  readonly connectionId: string;
}

export async function acceptRequest(deps: AcceptDeps, input: AcceptInput): Promise<boolean> {
  const mechanic = await deps.mechanics.get(input.mechanicId);
  if (!mechanic || !canWork(mechanic)) {
    await deps.pusher.send(input.connectionId, errorEvent('mechanic_not_approved', 'Only approved mechanics can accept requests'));
    return false;
  }
  const acceptor = { mechanicId: mechanic.mechanic_id, workshopId: mechanic.workshop_id };

  // Two tries: a refusal computed from the re-read state can be "allowed now" when a fallback landed in between.
  for (let attempt = 0; attempt < 2; attempt++) {
    const outcome = await deps.requests.match(input.requestId, acceptor, deps.clock.now().toISOString());
    if (outcome.matched) {
      const request = outcome.request;
      deps.log.info('[Accept] Request matched', {
        request_id: request.request_id,
        mechanic_id: input.mechanicId,
        routing: request.routing,
      });
      deps.metrics.count('OffersAccepted');
      await deps.pusher.send(input.connectionId, acceptResult(request.request_id, null));
      if (request.routing === 'priority') await cancelScheduleQuietly(deps, request.request_id);
      await pushToAudience(deps, offeredTo(request), requestTaken(request.request_id), { exceptConnectionId: input.connectionId });
      return true;
    }
    const refusal = acceptRefusal(outcome.request, acceptor);
    if (refusal !== null || outcome.request?.status === 'matched') {
      // Matched by this same mechanic earlier (a retried accept): answer ok again, change nothing.
      deps.log.info('[Accept] Accept refused', { request_id: input.requestId, mechanic_id: input.mechanicId, reason: refusal ?? 'already_theirs' });
      await deps.pusher.send(input.connectionId, acceptResult(input.requestId, refusal));
      return refusal === null;
    }
  }
  await deps.pusher.send(input.connectionId, acceptResult(input.requestId, 'already_matched'));
  return false;
}
