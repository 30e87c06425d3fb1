/**
 * Decline: the favorite declining ends the priority window at once — the
 * fallback runs now instead of at `expires_at`. Anyone else's decline changes
 * nothing (the request simply stays open to the others).
 */
import { errorEvent } from '../domain/messages';
import { canFallBack } from '../domain/request';
import { cancelScheduleQuietly } from './cancel-schedule-quietly';
import type { Deps } from './deps';
import { runFallback } from './run-fallback';

export type DeclineDeps = Pick<Deps, 'requests' | 'connections' | 'pusher' | 'scheduler' | 'clock' | 'log' | 'metrics'>;

export async function declineRequest(deps: DeclineDeps, input: { requestId: string; mechanicId: string; connectionId: string }): Promise<void> {
  const request = await deps.requests.get(input.requestId);
  if (!request) {
    await deps.pusher.send(input.connectionId, errorEvent('not_found', `request_id ${input.requestId} not found`));
    return;
  }
  if (request.preferred_mechanic_id !== input.mechanicId || !canFallBack(request)) {
    deps.log.info('[Decline] Noted; the request stays open', { request_id: request.request_id, mechanic_id: input.mechanicId });
    return;
  }
  deps.log.info('[Priority] Favorite declined; ending the priority window now', { request_id: request.request_id, mechanic_id: input.mechanicId });
  const outcome = await runFallback(deps, { requestId: request.request_id, reason: 'preferred_mechanic_declined' });
  if (outcome.ran) await cancelScheduleQuietly(deps, request.request_id);
}
