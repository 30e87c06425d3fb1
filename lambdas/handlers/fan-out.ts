/**
 * Asynchronous target: `{"request_id", "audience", "message", "except_connection_id"?, "except_mechanic_id"?}` —
 * deliver one message to an audience (everyone is split into one invocation per shard).
 * Throwing hands the event to Lambda's two async retries, then to the DLQ.
 */
import { describeError } from '../domain/errors';
import { fanOut } from '../use-cases/fan-out';
import { observe, wire } from '../wiring';
import { fanOut as handOver } from '../wiring/fan-out';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { scheduleCorrelationId } from './shared/schedule';
import { fanOutInputSchema } from './shared/schemas';

const deps = wire(table, pusher, handOver);

export const handler = observe(scheduleCorrelationId, async (event: unknown): Promise<unknown> => {
  const input = fanOutInputSchema.safeParse(event);
  if (!input.success) {
    deps.log.error('[FanOut] Ignoring a malformed fan-out event', { error: describeError(input.error) });
    return { delivered: 0 };
  }
  const { request_id, audience, message, except_connection_id, except_mechanic_id } = input.data;
  return fanOut(deps, {
    requestId: request_id,
    audience,
    message: message as Parameters<typeof fanOut>[1]['message'],
    ...(except_connection_id ? { exceptConnectionId: except_connection_id } : {}),
    ...(except_mechanic_id ? { exceptMechanicId: except_mechanic_id } : {}),
  });
});
