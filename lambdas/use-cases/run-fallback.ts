/**
 * The fallback: opens a priority request to every mechanic. Fired by the
 * schedule at `expires_at`, by the favorite's decline, or when the priority
 * offer could not be delivered. One conditional write decides, so a duplicate,
 * late or post-match invocation does nothing.
 */
import type { NewRequestReason } from '../domain/messages';
import { newRequest } from '../domain/messages';
import type { FallbackReason } from '../domain/request';
import { describeError } from '../domain/errors';
import type { Deps } from './deps';
import { pushToAudience, type Delivery } from './push-to-audience';

export type FallbackDeps = Pick<Deps, 'requests' | 'connections' | 'pusher' | 'clock' | 'log' | 'metrics'>;

const MESSAGE_REASON: Record<FallbackReason, NewRequestReason> = {
  preferred_mechanic_no_response: 'fallback',
  preferred_mechanic_declined: 'priority_declined',
  priority_failed: 'priority_failed',
};

export type FallbackOutcome = { ran: true; delivery: Delivery } | { ran: false };

export async function runFallback(deps: FallbackDeps, input: { requestId: string; reason: FallbackReason }): Promise<FallbackOutcome> {
  const claimedAt = deps.clock.now().toISOString();
  const request = await deps.requests.claimFallback(input.requestId, input.reason, claimedAt);
  if (!request) {
    deps.log.info('[Fallback] Nothing to do: the request was already matched, cancelled or broadcast', { request_id: input.requestId, reason: input.reason });
    return { ran: false };
  }
  deps.log.info('[Fallback] Priority window over, broadcasting to all mechanics', {
    request_id: request.request_id,
    reason: input.reason,
    preferred_mechanic_id: request.preferred_mechanic_id,
  });

  let delivery: Delivery;
  try {
    delivery = await pushToAudience(deps, { kind: 'everyone' }, newRequest(request, MESSAGE_REASON[input.reason]));
  } catch (error) {
    // Give the claim back so Lambda's async retry (or, after the last one, the DLQ) takes over: the request must not stay pending unseen.
    await deps.requests.releaseFallback(request.request_id, claimedAt, {
      at: deps.clock.now().toISOString(),
      type: 'fallback_failed',
      error: describeError(error),
    });
    deps.log.error('[Fallback] Broadcast failed; claim released for a retry', { request_id: request.request_id, error: describeError(error) });
    throw error;
  }

  await deps.requests.record(request.request_id, {}, { at: deps.clock.now().toISOString(), type: 'fallback_broadcast', reason: input.reason, ...delivery });
  deps.log.info('[Fallback] Broadcast delivered', {
    request_id: request.request_id,
    reason: input.reason,
    ...delivery,
  });
  deps.metrics.count('FallbacksFired');
  deps.metrics.count('BroadcastsDelivered', delivery.delivered);
  return { ran: true, delivery };
}
