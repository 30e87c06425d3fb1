/**
 * Delivers one message to every connection of an audience: a mechanic, a
 * workshop or everyone. Connections come from index Queries page by page;
 * pushes run with bounded concurrency; a 410 deletes *that* connection; any
 * other push error is logged and counted and never stops the rest.
 */
import type { Connection } from '../domain/mechanic';
import type { ServerMessage } from '../domain/messages';
import type { Audience } from '../domain/request';
import { describeError } from '../domain/errors';
import type { Deps } from './deps';

export type PushDeps = Pick<Deps, 'connections' | 'pusher' | 'clock' | 'log' | 'metrics'>;

export interface Delivery {
  delivered: number;
  gone: number;
  failed: number;
}

/** Enough to keep API Gateway busy without opening thousands of sockets in one invocation. */
export const PUSH_CONCURRENCY = 64;

export async function pushToAudience(
  deps: PushDeps,
  audience: Audience,
  message: ServerMessage,
  options: { exceptConnectionId?: string } = {},
): Promise<Delivery> {
  const total: Delivery = { delivered: 0, gone: 0, failed: 0 };
  for await (const page of connectionsOf(deps, audience)) {
    const targets = page.filter((c) => c.connection_id !== options.exceptConnectionId);
    const delivery = await pushToConnections(deps, targets, message);
    total.delivered += delivery.delivered;
    total.gone += delivery.gone;
    total.failed += delivery.failed;
  }
  return total;
}

export async function pushToConnections(deps: PushDeps, targets: readonly Connection[], message: ServerMessage): Promise<Delivery> {
  const delivery: Delivery = { delivered: 0, gone: 0, failed: 0 };
  await forEachWithConcurrency(targets, PUSH_CONCURRENCY, async (connection) => {
    try {
      if ((await deps.pusher.send(connection.connection_id, message)) === 'sent') {
        delivery.delivered++;
        return;
      }
      delivery.gone++;
      await deps.connections.delete(connection.connection_id);
      deps.log.info('Pruned a gone connection', {
        connection_id: connection.connection_id,
        mechanic_id: connection.mechanic_id,
      });
      deps.metrics.count('StaleConnectionsPruned');
    } catch (error) {
      delivery.failed++;
      deps.log.warn('Push to a connection failed', {
        connection_id: connection.connection_id,
        mechanic_id: connection.mechanic_id,
        message_type: message.type,
        error: describeError(error),
      });
      deps.metrics.count('PushFailures');
    }
  });
  return delivery;
}

async function* connectionsOf(deps: PushDeps, audience: Audience): AsyncIterable<Connection[]> {
  switch (audience.kind) {
    case 'mechanic':
      yield await deps.connections.listByMechanic(audience.mechanicId);
      return;
    case 'workshop':
      yield* deps.connections.listByWorkshop(audience.workshopId);
      return;
    case 'everyone':
      yield* deps.connections.listAll();
  }
}

async function forEachWithConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
