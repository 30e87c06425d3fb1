/**
 * Scheduler target: `{"request_id": …}` at the end of the priority window.
 * Scheduler invokes it asynchronously: throwing hands the event to Lambda's two async retries, then to the DLQ.
 */
import { describeError } from '../domain/errors';
import { runFallback } from '../use-cases/run-fallback';
import { deps, observe } from '../wiring';
import { fallbackInputSchema } from './shared/schemas';
import { scheduleCorrelationId } from './shared/schedule';

export const handler = observe(scheduleCorrelationId, async (event: unknown): Promise<{ ran: boolean }> => {
  const input = fallbackInputSchema.safeParse(event);
  if (!input.success) {
    // Retrying cannot fix a malformed input: log it loudly and finish.
    deps.log.error('[Fallback] Ignoring an invocation without a request_id', { error: describeError(input.error) });
    return { ran: false };
  }
  const outcome = await runFallback(deps, { requestId: input.data.request_id, reason: 'preferred_mechanic_no_response' });
  return { ran: outcome.ran };
});
