/**
 * The fan-out function's work: a message for everyone is split into one
 * asynchronous invocation per connection shard (so each pushes a bounded
 * number of connections, and they run side by side); a shard, a workshop or
 * a mechanic is pushed here. When pushes still fail after their retries, the
 * invocation fails, and Lambda runs it again (twice, then the DLQ): every
 * mechanic is told at least once; those already told get a duplicate (same
 * `request_id`; clients dedupe). An offer (`new_request`) leaves out every
 * mechanic who declined the request (each shard's run reads who did) and
 * every paused one (their connections say so).
 */
import type { Audience } from '../domain/booking';
import { sessionIdOf } from '../domain/ids';
import type { ServerMessage } from '../domain/messages';
import type { Exclusion } from '../ports';
import type { Deps } from './deps';
import { pushToAudience, type Delivery } from './tell-mechanics';

export type FanOutDeps = Pick<Deps, 'fanOut' | 'bookings' | 'connections' | 'pusher' | 'clock' | 'log' | 'metrics'>;

export interface FanOutInput extends Exclusion {
  readonly requestId: string;
  readonly audience: Audience;
  readonly message: ServerMessage;
}

export async function fanOut(deps: FanOutDeps, input: FanOutInput): Promise<{ shards: number } | Delivery> {
  const options: Exclusion = {
    ...(input.exceptConnectionId ? { exceptConnectionId: input.exceptConnectionId } : {}),
    ...(input.exceptMechanicId ? { exceptMechanicId: input.exceptMechanicId } : {}),
  };
  if (input.audience.kind === 'everyone') {
    await Promise.all(
      Array.from({ length: deps.connections.shards }, (_, shard) => deps.fanOut.send(input.requestId, { kind: 'shard', shard }, input.message, options)),
    );
    deps.log.info('[FanOut] Split across connection shards', {
      request_id: input.requestId,
      message_type: input.message.type,
      shards: deps.connections.shards,
    });
    return { shards: deps.connections.shards };
  }
  const isOffer = input.message.type === 'new_request';
  const declined = isOffer ? await deps.bookings.decliners(sessionIdOf(input.requestId)) : undefined;
  const delivery = await pushToAudience(deps, input.audience, input.message, {
    ...options,
    ...(declined?.size ? { declined } : {}),
    skipPaused: isOffer,
  });
  // An empty shard says nothing: sixteen lines per broadcast would drown the ones that matter.
  if (delivery.delivered + delivery.gone + delivery.failed > 0)
    deps.log.info('[FanOut] Delivered', { request_id: input.requestId, message_type: input.message.type, audience: input.audience, ...delivery });
  if (input.message.type === 'new_request' && delivery.delivered > 0) deps.metrics.count('BroadcastsDelivered', delivery.delivered);
  if (delivery.failed > 0) throw new Error(`${delivery.failed} pushes still failed after their retries; Lambda runs this invocation again`);
  return delivery;
}
