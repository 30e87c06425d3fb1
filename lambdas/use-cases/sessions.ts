/**
 * The customer's side of a booking: intake, checkout complete, cancel, read.
 * Every customer-facing use case loads the session through `ownedSession`, so
 * another customer's session is a 404 (ids are not confirmed to strangers).
 */
import { conflict, describeError, notFound } from '../domain/errors';
import { bookingFingerprint, isSessionId, newSessionId, requestIdFor } from '../domain/ids';
import { requestTaken } from '../domain/messages';
import { offeredTo, type DispatchRequest } from '../domain/request';
import { isFulfilledAtIntake, type Plan, type RoutingType, type Session, type SessionMetadata, type Vehicle } from '../domain/session';
import { cancelScheduleQuietly, releaseRoutingGuardQuietly } from './cancel-schedule-quietly';
import type { Deps } from './deps';
import { fulfillSession, type FulfillDeps } from './fulfill-session';
import { pushToAudience } from './push-to-audience';

export interface Booking {
  readonly plan: Plan;
  readonly concern: string;
  readonly vehicle: Vehicle | null;
  readonly preferred_mechanic_id: string | null;
  readonly routing_type: RoutingType | null;
  readonly workshop_id: string | null;
}

export interface IntakeAnswer {
  session_id: string;
  status: 'fulfilled' | 'awaiting_checkout';
  request_id?: string;
}

/** Routing also needs the guard that finishes it if this invocation dies half-way. */
export type RoutingDeps = FulfillDeps & Pick<Deps, 'routingGuardSeconds'>;

export async function startIntake(deps: RoutingDeps, input: { customerId: string; idempotencyKey?: string; booking: Booking }): Promise<IntakeAnswer> {
  const { booking } = input;
  const sessionId = newSessionId(input.customerId, input.idempotencyKey);
  const at = deps.clock.now().toISOString();
  const fulfilledNow = isFulfilledAtIntake(booking.plan);
  if (fulfilledNow) await guardRouting(deps, sessionId);
  const metadata: SessionMetadata = {
    ...(booking.preferred_mechanic_id ? { preferred_mechanic_id: booking.preferred_mechanic_id } : {}),
    ...(booking.routing_type ? { routing_type: booking.routing_type } : {}),
  };
  const { created, session } = await deps.sessions.create({
    session_id: sessionId,
    customer_id: input.customerId,
    plan: booking.plan,
    status: fulfilledNow ? 'fulfilled' : 'awaiting_checkout',
    concern: booking.concern,
    vehicle: booking.vehicle,
    workshop_id: booking.workshop_id,
    metadata,
    request_id: fulfilledNow ? requestIdFor(sessionId) : null,
    intake_fingerprint: bookingFingerprint(booking),
    created_at: at,
    updated_at: at,
  });
  if (!created && session.intake_fingerprint !== bookingFingerprint(booking)) {
    throw conflict('idempotency_key_reused', 'Idempotency-Key was already used for a different booking');
  }
  if (created) deps.log.info('[intake] Booking received', { session_id: sessionId, plan: booking.plan, ...metadata, workshop_id: booking.workshop_id });

  if (!fulfilledNow) return { session_id: sessionId, status: 'awaiting_checkout' };
  // A retry re-enters here too: fulfillSession finishes a routing an earlier attempt did not, and repeats nothing.
  const request = session.status === 'cancelled' ? undefined : await fulfillSession(deps, session);
  await releaseRoutingGuardQuietly(deps, sessionId);
  return { session_id: sessionId, status: 'fulfilled', request_id: request?.request_id ?? requestIdFor(sessionId) };
}

export async function completeCheckout(deps: RoutingDeps, input: { customerId: string; sessionId: string }): Promise<IntakeAnswer> {
  const session = await ownedSession(deps, input);
  if (session.status === 'cancelled') throw conflict('session_cancelled', 'the session was cancelled');
  await guardRouting(deps, session.session_id);
  const fulfilled = await deps.sessions.markFulfilled(session.session_id, requestIdFor(session.session_id), deps.clock.now().toISOString());
  if (!fulfilled) throw conflict('session_cancelled', 'the session was cancelled');
  if (session.status === 'awaiting_checkout') deps.log.info('[checkout] Payment complete, fulfilling', { session_id: session.session_id });
  const request = await fulfillSession(deps, fulfilled);
  await releaseRoutingGuardQuietly(deps, session.session_id);
  return { session_id: session.session_id, status: 'fulfilled', request_id: request.request_id };
}

/**
 * The routing guard fired: the invocation that fulfilled this session died
 * before its request existed (a session is written before its request, and
 * DynamoDB writes of two items are not atomic here). Finish the routing; when
 * the request exists, or the session was cancelled, there is nothing to do.
 */
export async function finishRouting(deps: FulfillDeps, input: { sessionId: string }): Promise<{ routed: boolean }> {
  const session = await deps.sessions.get(input.sessionId);
  if (session?.status !== 'fulfilled' || (await deps.requests.get(requestIdFor(input.sessionId)))) {
    deps.log.info('[fulfillment] Routing guard: nothing to do', { session_id: input.sessionId, status: session?.status ?? 'missing' });
    return { routed: false };
  }
  deps.log.warn('[fulfillment] Routing guard: finishing a routing an invocation left undone', { session_id: input.sessionId });
  await fulfillSession(deps, session);
  return { routed: true };
}

/** Before anything is written: if this invocation dies half-way, the guard finishes the routing. */
async function guardRouting(deps: RoutingDeps, sessionId: string): Promise<void> {
  try {
    await deps.scheduler.guardRouting(sessionId, new Date(deps.clock.now().getTime() + deps.routingGuardSeconds * 1000));
  } catch (error) {
    // Not worth refusing a booking over: the routing below normally completes; only a crash would need the guard.
    deps.log.warn('[fulfillment] Could not create the routing guard; routing without it', { session_id: sessionId, error: describeError(error) });
  }
}

export async function cancelSession(
  deps: Pick<Deps, 'sessions' | 'requests' | 'connections' | 'pusher' | 'scheduler' | 'clock' | 'log' | 'metrics'>,
  input: { customerId: string; sessionId: string },
): Promise<{ session_id: string; status: 'cancelled' }> {
  const session = await ownedSession(deps, input);
  const answer = { session_id: session.session_id, status: 'cancelled' as const };
  if (session.status === 'cancelled') return answer;
  const at = deps.clock.now().toISOString();

  // The request first: a match that got there before us must leave the session as it is.
  const requestId = session.request_id;
  const cancelled = requestId ? await deps.requests.cancel(requestId, at) : undefined;
  if (requestId && !cancelled) {
    const request = await deps.requests.get(requestId);
    if (request?.status === 'matched') throw conflict('already_matched', 'the request was already accepted by a mechanic');
  }
  await deps.sessions.markCancelled(session.session_id, at);
  deps.log.info('[cancel] Session cancelled', { session_id: session.session_id, request_id: requestId });
  if (cancelled) {
    if (cancelled.routing === 'priority') await cancelScheduleQuietly(deps, cancelled.request_id);
    await pushToAudience(deps, offeredTo(cancelled), requestTaken(cancelled.request_id));
  }
  return answer;
}

export interface SessionView {
  session_id: string;
  customer_id: string;
  plan: Plan;
  status: Session['status'];
  concern: string;
  vehicle: Vehicle | null;
  workshop_id: string | null;
  metadata: SessionMetadata;
  created_at: string;
  request: Pick<DispatchRequest, 'request_id' | 'status' | 'routing' | 'mechanic_id' | 'expires_at' | 'metadata' | 'events'> | null;
}

export async function getSessionView(deps: Pick<Deps, 'sessions' | 'requests'>, input: { customerId: string; sessionId: string }): Promise<SessionView> {
  const session = await ownedSession(deps, input);
  const request = session.request_id ? await deps.requests.get(session.request_id) : undefined;
  return {
    session_id: session.session_id,
    customer_id: session.customer_id,
    plan: session.plan,
    status: session.status,
    concern: session.concern,
    vehicle: session.vehicle,
    workshop_id: session.workshop_id,
    metadata: session.metadata,
    created_at: session.created_at,
    request: request
      ? {
          request_id: request.request_id,
          status: request.status,
          routing: request.routing,
          mechanic_id: request.mechanic_id,
          expires_at: request.expires_at,
          metadata: request.metadata,
          events: request.events,
        }
      : null,
  };
}

async function ownedSession(deps: Pick<Deps, 'sessions'>, input: { customerId: string; sessionId: string }): Promise<Session> {
  const session = isSessionId(input.sessionId) ? await deps.sessions.get(input.sessionId) : undefined;
  // The id is echoed back shortened: a 404 must not mirror whatever a client sends.
  if (!session || session.customer_id !== input.customerId) throw notFound(`session ${input.sessionId.slice(0, 80)}`);
  return session;
}
