/**
 * Scheduler target: `{"session_id": …}` a while after a fulfillment started.
 * Finishes a routing whose invocation died half-way; a no-op otherwise.
 */
import { describeError } from '../domain/errors';
import { finishRouting } from '../use-cases/sessions';
import { deps, observe } from '../wiring';
import { routingGuardInputSchema } from './shared/schemas';
import { scheduleCorrelationId } from './shared/schedule';

export const handler = observe(scheduleCorrelationId, async (event: unknown): Promise<{ routed: boolean }> => {
  const input = routingGuardInputSchema.safeParse(event);
  if (!input.success) {
    // Retrying cannot fix a malformed input: log it loudly and finish.
    deps.log.error('[fulfillment] Routing guard invoked without a session_id', { error: describeError(input.error) });
    return { routed: false };
  }
  return finishRouting(deps, { sessionId: input.data.session_id });
});
