/**
 * Telling mechanics. A booking's audience is told either here, in the calling
 * invocation (one mechanic's few connections), or through the fan-out (a
 * workshop or everyone: asynchronous invocations, one per connection shard).
 * Pushes run with bounded concurrency; a 410 deletes *that* connection; a
 * push throttled or failed by the server (or the network) is retried with
 * backoff and jitter; a push still failing, or refused outright (403, 413),
 * is counted and logged and never stops the rest.
 */
import { describeError } from '../domain/errors';
import type { Audience, Booking } from '../domain/booking';
import { audienceOf } from '../domain/booking';
import type { CustomerConnection } from '../domain/customer';
import { type Connection, isPaused } from '../domain/mechanic';
import type { ServerMessage } from '../domain/messages';
import { type Exclusion, PushFailedError } from '../ports';
import type { Deps } from './deps';

export type PushDeps = Pick<Deps, 'connections' | 'pusher' | 'clock' | 'log' | 'metrics'>;
export type TellDeps = PushDeps & Pick<Deps, 'fanOut'>;

export interface Delivery {
  delivered: number;
  gone: number;
  failed: number;
}

/** Enough to keep API Gateway busy without opening thousands of sockets in one invocation. */
export const PUSH_CONCURRENCY = 64;
/** A push that fails (5xx, throttled, no answer) is tried this many times in all. */
export const PUSH_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 100;

/** Tells the booking's audience: the favorite at once, a workshop or everyone through the fan-out. */
export async function tellAudience(deps: TellDeps, booking: Booking, message: ServerMessage, options: Exclusion = {}): Promise<void> {
  const audience = audienceOf(booking);
  if (!audience) return;
  if (audience.kind === 'mechanic') await pushToAudience(deps, audience, message, options);
  else await deps.fanOut.send(booking.request_id, audience, message, options);
}

/** Who is left out of a push: a connection, a mechanic (a winner), and for offers the mechanics who declined or paused. */
export interface PushExclusion extends Exclusion {
  readonly declined?: ReadonlySet<string>;
  readonly skipPaused?: boolean;
}

/** Pushes to every connection of one audience that fits one invocation (not `everyone`: that is split by shard first). */
export async function pushToAudience(
  deps: PushDeps,
  audience: Exclude<Audience, { kind: 'everyone' }>,
  message: ServerMessage,
  options: PushExclusion = {},
): Promise<Delivery> {
  const total: Delivery = { delivered: 0, gone: 0, failed: 0 };
  for await (const page of connectionsOf(deps, audience)) {
    const delivery = await pushToConnections(
      deps,
      page.filter((c) => !excluded(c, options)),
      message,
    );
    total.delivered += delivery.delivered;
    total.gone += delivery.gone;
    total.failed += delivery.failed;
  }
  return total;
}

const excluded = (connection: Connection, options: PushExclusion): boolean =>
  connection.connection_id === options.exceptConnectionId ||
  connection.mechanic_id === options.exceptMechanicId ||
  options.declined?.has(connection.mechanic_id) === true ||
  (options.skipPaused === true && isPaused(connection));

/** Whose connection it is, for log lines. */
const ownerOf = (connection: Pick<Connection, 'connection_id' | 'mechanic_id'> | CustomerConnection) =>
  'customer_id' in connection ? { customer_id: connection.customer_id } : { mechanic_id: connection.mechanic_id };

/** Pushes to each connection (a mechanic's or a customer's): a 410 prunes it, a failure is retried, then counted and logged. */
export async function pushToConnections(
  deps: PushDeps,
  targets: readonly (Pick<Connection, 'connection_id' | 'mechanic_id'> | CustomerConnection)[],
  message: ServerMessage,
): Promise<Delivery> {
  const delivery: Delivery = { delivered: 0, gone: 0, failed: 0 };
  await forEachWithConcurrency(targets, PUSH_CONCURRENCY, async (connection) => {
    for (let attempt = 1; ; attempt++) {
      try {
        if ((await deps.pusher.send(connection.connection_id, message)) === 'sent') {
          delivery.delivered++;
          return;
        }
        delivery.gone++;
        await deps.connections.delete(connection.connection_id);
        deps.log.info('Pruned a gone connection', { connection_id: connection.connection_id, ...ownerOf(connection) });
        deps.metrics.count('StaleConnectionsPruned');
        return;
      } catch (error) {
        const worthRetrying = !(error instanceof PushFailedError) || error.retryable;
        if (worthRetrying && attempt < PUSH_ATTEMPTS) {
          // Full jitter: many pushes failing together (a throttled API) do not retry in step.
          await deps.clock.sleep(Math.random() * BACKOFF_BASE_MS * 2 ** attempt);
          continue;
        }
        delivery.failed++;
        deps.log.warn('Push to a connection failed', {
          connection_id: connection.connection_id,
          ...ownerOf(connection),
          message_type: message.type,
          attempts: attempt,
          error: describeError(error),
        });
        deps.metrics.count('PushFailures');
        return;
      }
    }
  });
  return delivery;
}

function connectionsOf(deps: PushDeps, audience: Exclude<Audience, { kind: 'everyone' }>): AsyncIterable<Connection[]> {
  switch (audience.kind) {
    case 'mechanic':
      return (async function* () {
        yield await deps.connections.listByMechanic(audience.mechanicId);
      })();
    case 'workshop':
      return deps.connections.listByWorkshop(audience.workshopId);
    case 'shard':
      return deps.connections.listByShard(audience.shard);
  }
}

async function forEachWithConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
