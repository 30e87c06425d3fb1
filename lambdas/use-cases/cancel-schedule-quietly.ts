import type { Deps } from './deps';
import { describeError } from '../domain/errors';

/** Best effort: a fallback that fires anyway finds nothing to do. */
export async function cancelScheduleQuietly(deps: Pick<Deps, 'scheduler' | 'log'>, requestId: string): Promise<void> {
  try {
    await deps.scheduler.cancelFallback(requestId);
  } catch (error) {
    deps.log.warn('Could not delete the fallback schedule; it will find nothing to do', { request_id: requestId, error: describeError(error) });
  }
}
