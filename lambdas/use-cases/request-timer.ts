/**
 * The request's one durable timer fired (Scheduler → this, asynchronously,
 * with `{request_id, due_at}`). It fires up to two minutes early (set a
 * minute early for Scheduler's 60-second precision), so it first waits for
 * `due_at` — bounded, inside this invocation — then re-reads the booking and
 * does the one thing now due (lifecycle.ts `dueWork`), or nothing.
 */
import { nextFavorite } from '../domain/booking';
import { sessionIdOf } from '../domain/ids';
import { dueWork, isTerminal, nextDeadline } from '../domain/lifecycle';
import { armRecovery, clearTimerQuietly, finishEnding, type RouteDeps, routeRequest, windowOverChanges } from './route-request';

/** The longest a firing waits for its deadline: the schedule is set 60 s early and may run 59 s before that. */
export const MAX_TIMER_WAIT_SECONDS = 120;

export async function onTimer(deps: RouteDeps, input: { requestId: string; dueAt: string }): Promise<{ did: string }> {
  const wait = Math.min(Date.parse(input.dueAt) - deps.clock.now().getTime(), MAX_TIMER_WAIT_SECONDS * 1000);
  if (wait > 0) await deps.clock.sleep(wait);

  const booking = await deps.bookings.get(sessionIdOf(input.requestId));
  const now = deps.clock.now().toISOString();
  const work = dueWork(booking, now, deps.recoveryDelaySeconds);
  const log = { request_id: input.requestId, due_at: input.dueAt, state: booking?.state ?? 'missing', work };
  switch (work) {
    case 'nothing': {
      // Not due yet (moved since it was set) or needing no timer: keep exactly the timer the booking needs.
      const deadline = booking && !isTerminal(booking.state) ? nextDeadline(booking, deps.recoveryDelaySeconds) : null;
      // No booking: the intake that armed it died before writing one (the customer's retry arms its own).
      if (deadline) await deps.timer.set(input.requestId, new Date(deadline), 'existing');
      else await clearTimerQuietly(deps, input.requestId);
      deps.log.info('[Timer] Nothing due', { ...log, next: deadline });
      return { did: work };
    }
    case 'finish_routing': {
      // Claimed first: of two firings resuming this routing (a timer moved while one waited), one does.
      await armRecovery(deps, input.requestId, 'existing');
      const resumed = await deps.bookings.transition(booking!.session_id, 'routing_resumed', {
        now,
        guard: { routingSince: booking!.routing_since! },
        changes: { routing_since: now },
        audit: { at: now, type: 'routing_resumed', left_since: booking!.routing_since },
      });
      if (!resumed.applied) return { did: 'nothing' };
      deps.log.warn('[Timer] Finishing a routing an invocation left undone', log);
      await routeRequest(deps, resumed.booking);
      return { did: work };
    }
    case 'end_window': {
      await armRecovery(deps, input.requestId, 'existing');
      const lapsed = booking!.request_metadata.priority_mechanic_id;
      const next = nextFavorite(booking!);
      const outcome = await deps.bookings.transition(booking!.session_id, 'window_ended', {
        now,
        changes: windowOverChanges(next, 'preferred_mechanic_no_response', now),
        audit: next
          ? { at: now, type: 'priority_window_ended', mechanic_id: lapsed, next_mechanic_id: next }
          : { at: now, type: 'fallback_started', reason: 'preferred_mechanic_no_response' },
      });
      if (!outcome.applied) return { did: 'nothing' };
      const late = { late_ms: Date.parse(now) - Date.parse(booking!.expires_at!) };
      if (next) deps.log.info('[Priority] Window over, offering to the next favorite', { ...log, mechanic_id: lapsed, next_mechanic_id: next, ...late });
      else {
        deps.log.info('[Fallback] Priority window over, broadcasting to all mechanics', {
          ...log,
          reason: 'preferred_mechanic_no_response',
          preferred_mechanic_id: lapsed,
          ...late,
        });
        deps.metrics.count('FallbacksFired');
      }
      await routeRequest(deps, outcome.booking);
      return { did: work };
    }
    case 'expire': {
      const outcome = await deps.bookings.transition(booking!.session_id, 'expired', { now, audit: { at: now, type: 'expired' } });
      if (!outcome.applied) return { did: 'nothing' };
      deps.log.info('[Timer] Request expired: nobody accepted it', { ...log, open_until: booking!.open_until });
      deps.metrics.count('RequestsExpired');
      await finishEnding(deps, outcome.booking);
      return { did: work };
    }
    case 'retell_end':
      // The ending clears the timer last: cleared, it finished (this firing was already under way); still set, it died
      // before clearing it — maybe before telling everyone, too.
      if (!(await deps.timer.isSet(input.requestId))) {
        deps.log.info('[Timer] Request ended and its ending finished; nothing to do', log);
        return { did: 'nothing' };
      }
      deps.log.info('[Timer] Request ended; repeating request_taken', log);
      await finishEnding(deps, booking!);
      return { did: work };
  }
}
