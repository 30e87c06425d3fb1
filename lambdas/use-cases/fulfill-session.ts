/**
 * Fulfillment: creates the session's one request and routes it — workshop,
 * priority to the favorite, or broadcast (DESIGN §1.2–1.3). Idempotent: a
 * request that exists already is returned untouched, so a repeated checkout
 * sends nothing twice.
 */
import { requestIdFor } from '../domain/ids';
import { newRequest, priorityOffer, type NewRequestReason } from '../domain/messages';
import { canWork } from '../domain/mechanic';
import type { AuditEvent, DispatchRequest, RequestMetadata, Routing } from '../domain/request';
import { windowMinutes } from '../domain/request';
import { decideRouting, wantsPriority } from '../domain/routing';
import type { Session } from '../domain/session';
import { describeError } from '../domain/errors';
import type { Deps } from './deps';
import { pushToAudience, pushToConnections } from './push-to-audience';
import { runFallback } from './run-fallback';
import { cancelScheduleQuietly } from './cancel-schedule-quietly';

export type FulfillDeps = Pick<
  Deps,
  'sessions' | 'requests' | 'mechanics' | 'connections' | 'pusher' | 'scheduler' | 'flag' | 'clock' | 'log' | 'metrics' | 'priorityWindowSeconds'
>;

export async function fulfillSession(deps: FulfillDeps, session: Session): Promise<DispatchRequest> {
  const requestId = requestIdFor(session.session_id);
  const existing = await deps.requests.get(requestId);
  if (existing) return existing;

  const routingInput = {
    workshopId: session.workshop_id,
    routingType: session.metadata.routing_type,
    preferredMechanicId: session.metadata.preferred_mechanic_id,
  };
  // The flag is read only for a booking that asks for priority: with it off, no priority code runs.
  const priorityEnabled = wantsPriority(routingInput) && (await deps.flag.isPriorityEnabled());
  const decision = decideRouting(routingInput, priorityEnabled);

  switch (decision.kind) {
    case 'workshop':
      return openRequest(deps, session, 'workshop', 'workshop');
    case 'broadcast':
      return openRequest(deps, session, 'broadcast', 'broadcast');
    case 'priority':
      return startPriority(deps, session, decision.mechanicId);
  }
}

/** Offers the request to the favorite alone, with a durable fallback at the end of the window. */
async function startPriority(deps: FulfillDeps, session: Session, mechanicId: string): Promise<DispatchRequest> {
  const requestId = requestIdFor(session.session_id);
  const log = { request_id: requestId, session_id: session.session_id, mechanic_id: mechanicId };
  deps.log.info('[Priority] Favorite mechanic requested', log);

  const mechanic = await deps.mechanics.get(mechanicId);
  const connections = canWork(mechanic) ? await deps.connections.listByMechanic(mechanicId) : [];
  const unavailable = !mechanic ? 'mechanic_unknown' : !canWork(mechanic) ? 'mechanic_not_approved' : connections.length === 0 ? 'mechanic_offline' : null;
  if (unavailable) {
    deps.log.warn('[Priority] Favorite cannot take priority, broadcasting now', { ...log, why: unavailable });
    return openRequest(deps, session, 'broadcast', 'priority_failed', { priority_mechanic_id: mechanicId, why: unavailable });
  }

  const now = deps.clock.now();
  // Whole seconds: the schedule's at() has no finer grain, and it must never fire before the window ends.
  const expiresAt = new Date(Math.ceil((now.getTime() + deps.priorityWindowSeconds * 1000) / 1000) * 1000);
  try {
    // Before the request exists: a pending priority request always has its fallback.
    await deps.scheduler.scheduleFallback(requestId, expiresAt);
  } catch (error) {
    deps.log.warn('[Priority] Could not schedule the fallback, broadcasting now', { ...log, why: 'schedule_failed', error: describeError(error) });
    return openRequest(deps, session, 'broadcast', 'priority_failed', { priority_mechanic_id: mechanicId, why: 'schedule_failed' });
  }

  const at = now.toISOString();
  const { created, request } = await deps.requests.create(
    draftRequest(session, 'priority', at, {
      expiresAt: expiresAt.toISOString(),
      metadata: { priority_mechanic_id: mechanicId, priority_window_minutes: windowMinutes(deps.priorityWindowSeconds) },
      events: [
        { at, type: 'created', routing: 'priority' },
        { at, type: 'fallback_scheduled', fire_at: expiresAt.toISOString() },
      ],
    }),
  );
  if (!created || (await cancelIfSessionCancelled(deps, session, request))) return request;

  const delivery = await pushToConnections(deps, connections, priorityOffer(request, deps.priorityWindowSeconds));
  if (delivery.delivered === 0) {
    deps.log.warn("[Priority] Offer reached none of the favorite's connections, broadcasting now", { ...log, ...delivery });
    await runFallback(deps, { requestId, reason: 'priority_failed' });
    await cancelScheduleQuietly(deps, requestId);
    return (await deps.requests.get(requestId)) ?? request;
  }
  await deps.requests.record(
    requestId,
    { priority_notified_at: deps.clock.now().toISOString() },
    { at: deps.clock.now().toISOString(), type: 'priority_offer_sent', mechanic_id: mechanicId, ...delivery },
  );
  deps.log.info('[Priority] Priority offer sent', {
    ...log,
    expires_at: request.expires_at,
    window_seconds: deps.priorityWindowSeconds,
    ...delivery,
  });
  deps.metrics.count('OffersSent');
  return request;
}

/** Creates the request open to its audience at once and pushes `new_request`. */
async function openRequest(
  deps: FulfillDeps,
  session: Session,
  routing: Exclude<Routing, 'priority'>,
  reason: NewRequestReason,
  priorityFailure?: { priority_mechanic_id: string; why: string },
): Promise<DispatchRequest> {
  const at = deps.clock.now().toISOString();
  const events: AuditEvent[] = [{ at, type: 'created', routing }];
  const metadata: RequestMetadata = {};
  if (priorityFailure) {
    events.unshift({ at, type: 'priority_failed', mechanic_id: priorityFailure.priority_mechanic_id, why: priorityFailure.why });
    Object.assign(metadata, { priority_mechanic_id: priorityFailure.priority_mechanic_id, fallback_reason: 'priority_failed', fallback_broadcast_at: at });
  }
  const { created, request } = await deps.requests.create(draftRequest(session, routing, at, { metadata, events }));
  if (!created || (await cancelIfSessionCancelled(deps, session, request))) return request;

  if (routing === 'workshop')
    deps.log.info("[fulfillment] Workshop routing to the workshop's mechanics", { request_id: request.request_id, workshop_id: request.workshop_id });
  else deps.log.info('[fulfillment] Broadcast routing to all mechanics', { request_id: request.request_id, reason });
  const audience = routing === 'workshop' ? { kind: 'workshop' as const, workshopId: request.workshop_id! } : { kind: 'everyone' as const };
  const delivery = await pushToAudience(deps, audience, newRequest(request, reason));
  await deps.requests.record(request.request_id, {}, { at: deps.clock.now().toISOString(), type: `${routing}_sent`, reason, ...delivery });
  deps.log.info('[fulfillment] Request delivered', {
    request_id: request.request_id,
    routing,
    ...delivery,
  });
  deps.metrics.count('BroadcastsDelivered', delivery.delivered);
  return request;
}

function draftRequest(
  session: Session,
  routing: Routing,
  at: string,
  extra: { expiresAt?: string; metadata: RequestMetadata; events: AuditEvent[] },
): DispatchRequest {
  return {
    request_id: requestIdFor(session.session_id),
    session_id: session.session_id,
    customer_id: session.customer_id,
    status: 'pending',
    routing,
    preferred_mechanic_id: session.metadata.preferred_mechanic_id ?? null,
    workshop_id: session.workshop_id,
    mechanic_id: null,
    expires_at: extra.expiresAt ?? null,
    concern: session.concern,
    vehicle: session.vehicle,
    metadata: extra.metadata,
    events: extra.events,
    created_at: at,
  };
}

/** A cancel that raced the request's creation: the request must not go out for a cancelled session. */
async function cancelIfSessionCancelled(deps: FulfillDeps, session: Session, request: DispatchRequest): Promise<boolean> {
  const current = await deps.sessions.get(session.session_id);
  if (current?.status !== 'cancelled') return false;
  await deps.requests.cancel(request.request_id, deps.clock.now().toISOString());
  if (request.routing === 'priority') await cancelScheduleQuietly(deps, request.request_id);
  deps.log.info('[fulfillment] Session was cancelled while routing; request cancelled', { request_id: request.request_id });
  return true;
}
