import type { Deps } from './deps';
import { describeError } from '../domain/errors';

type ScheduleDeps = Pick<Deps, 'scheduler' | 'log'>;

/** Best effort: a fallback that fires anyway finds nothing to do. */
export function cancelScheduleQuietly(deps: ScheduleDeps, requestId: string): Promise<void> {
  return deleteQuietly(deps, () => deps.scheduler.cancelFallback(requestId), 'Could not delete the fallback schedule; it will find nothing to do', {
    request_id: requestId,
  });
}

/** Best effort: a routing guard that fires anyway finds the request routed and does nothing. */
export function releaseRoutingGuardQuietly(deps: ScheduleDeps, sessionId: string): Promise<void> {
  return deleteQuietly(deps, () => deps.scheduler.releaseRoutingGuard(sessionId), 'Could not delete the routing guard; it will find nothing to do', {
    session_id: sessionId,
  });
}

async function deleteQuietly(deps: ScheduleDeps, remove: () => Promise<void>, warning: string, fields: Record<string, string>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    deps.log.warn(warning, { ...fields, error: describeError(error) });
  }
}
