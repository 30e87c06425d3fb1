/**
 * Scheduler target: `{"request_id", "due_at"}` — the request's one timer.
 * Scheduler invokes it asynchronously: throwing hands the event to Lambda's two async retries, then to the DLQ.
 */
import { describeError } from '../domain/errors';
import { onTimer } from '../use-cases/request-timer';
import { observe, wire } from '../wiring';
import { fanOut } from '../wiring/fan-out';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { timer } from '../wiring/timer';
import { scheduleCorrelationId } from './shared/schedule';
import { timerInputSchema } from './shared/schemas';

const deps = wire(table, pusher, fanOut, timer);

export const handler = observe(scheduleCorrelationId, async (event: unknown): Promise<{ did: string }> => {
  const input = timerInputSchema.safeParse(event);
  if (!input.success) {
    // Retrying cannot fix a malformed input: log it loudly and finish.
    deps.log.error('[Timer] Ignoring an invocation without request_id and due_at', { error: describeError(input.error) });
    return { did: 'nothing' };
  }
  return onTimer(deps, { requestId: input.data.request_id, dueAt: input.data.due_at });
});
