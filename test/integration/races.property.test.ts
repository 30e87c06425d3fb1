/**
 * Property: whatever the interleaving of accepts, declines, a cancel and the
 * fallback from several mechanics, the table's conditional writes keep the
 * rules — at most one winner, no fallback started after a match or cancel,
 * nobody but the favorite wins inside the window, and a pending request is
 * always either in its window with a schedule or already broadcast.
 *
 * Real DynamoDB semantics (dynalite, real conditional writes); the push and
 * schedule sides are small in-memory recorders, since what is under test is
 * the decision, and there are many runs.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DynamoDbConnectionStore } from '../../lambdas/adapters/dynamodb-connection-store';
import { DynamoDbMechanicStore } from '../../lambdas/adapters/dynamodb-mechanic-store';
import { DynamoDbRequestStore } from '../../lambdas/adapters/dynamodb-request-store';
import { DynamoDbSessionStore } from '../../lambdas/adapters/dynamodb-session-store';
import type { ServerMessage } from '../../lambdas/domain/messages';
import type { FallbackScheduler, Pusher } from '../../lambdas/ports';
import { acceptRequest } from '../../lambdas/use-cases/accept-request';
import { declineRequest } from '../../lambdas/use-cases/decline-request';
import type { Deps } from '../../lambdas/use-cases/deps';
import { runFallback } from '../../lambdas/use-cases/run-fallback';
import { cancelSession, startIntake } from '../../lambdas/use-cases/sessions';
import { RecordingMetrics } from '../support/in-memory-ports';
import { createTestTable } from '../support/table';

class RecordingPusher implements Pusher {
  readonly sent: { connectionId: string; message: ServerMessage }[] = [];
  async send(connectionId: string, message: ServerMessage) {
    this.sent.push({ connectionId, message });
    return 'sent' as const;
  }
  async disconnect(): Promise<void> {}
}

class RecordingScheduler implements FallbackScheduler {
  readonly live = new Set<string>();
  async scheduleFallback(requestId: string): Promise<void> {
    this.live.add(requestId);
  }
  async cancelFallback(requestId: string): Promise<void> {
    this.live.delete(requestId);
  }
  async guardRouting(): Promise<void> {}
  async releaseRoutingGuard(): Promise<void> {}
}

const MECHANICS = ['favorite', 'm1', 'm2', 'm3'] as const;
type Who = (typeof MECHANICS)[number];
type Operation = { kind: 'accept' | 'decline'; who: Who } | { kind: 'cancel' } | { kind: 'fallback' };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('accept' as const), who: fc.constantFrom(...MECHANICS) }),
  fc.record({ kind: fc.constant('decline' as const), who: fc.constantFrom(...MECHANICS) }),
  fc.constant({ kind: 'cancel' as const }),
  fc.constant({ kind: 'fallback' as const }),
);

/** Batches run one after another; the operations inside a batch start at the same moment. */
const interleaving = fc.array(fc.array(operation, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 });

describe('races between accept, decline, cancel and fallback', () => {
  it('never break the dispatch rules, whatever the interleaving', async () => {
    const table = await createTestTable();
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };

    await fc.assert(
      fc.asyncProperty(interleaving, async (batches) => {
        // Arrange: a priority request offered to the favorite, three other mechanics online
        const pusher = new RecordingPusher();
        const scheduler = new RecordingScheduler();
        const deps: Deps = {
          sessions: new DynamoDbSessionStore(table.db, table.tableName),
          requests: new DynamoDbRequestStore(table.db, table.tableName),
          mechanics: new DynamoDbMechanicStore(table.db, table.tableName),
          connections: new DynamoDbConnectionStore(table.db, table.tableName),
          pusher,
          scheduler,
          flag: { isPriorityEnabled: async () => true },
          metrics: new RecordingMetrics(),
          tokens: { verify: () => Promise.reject(new Error('unused')) },
          clock: { now: () => new Date() },
          log,
          priorityWindowSeconds: 600,
          routingGuardSeconds: 120,
        };
        const run = randomUUID().slice(0, 8);
        const ids = Object.fromEntries(MECHANICS.map((who) => [who, `${who}-${run}`])) as Record<Who, string>;
        for (const who of MECHANICS) {
          await deps.mechanics.put({ mechanic_id: ids[who], status: 'approved', name: who, workshop_id: null, updated_at: new Date().toISOString() });
          await deps.connections.put({ connection_id: `conn-${ids[who]}`, mechanic_id: ids[who], workshop_id: null, connected_at: new Date().toISOString() });
        }
        const customerId = `cust-${run}`;
        const booked = await startIntake(deps, {
          customerId,
          booking: {
            plan: 'free',
            concern: 'Rattle',
            vehicle: null,
            preferred_mechanic_id: ids.favorite,
            routing_type: 'priority_broadcast',
            workshop_id: null,
          },
        });
        const requestId = booked.request_id!;

        // Act
        for (const batch of batches) {
          await Promise.all(
            // biome-ignore lint/suspicious/useIterableCallbackReturn: the switch covers every kind, and each case returns
            batch.map((op) => {
              switch (op.kind) {
                case 'accept':
                  return acceptRequest(deps, { requestId, mechanicId: ids[op.who], connectionId: `conn-${ids[op.who]}` });
                case 'decline':
                  return declineRequest(deps, { requestId, mechanicId: ids[op.who], connectionId: `conn-${ids[op.who]}` });
                case 'cancel':
                  return cancelSession(deps, { customerId, sessionId: booked.session_id }).catch((error: { code?: string }) => {
                    if (error.code !== 'already_matched') throw error;
                  });
                case 'fallback':
                  return runFallback(deps, { requestId, reason: 'preferred_mechanic_no_response' });
              }
            }),
          );
        }

        // Assert
        const request = (await deps.requests.get(requestId))!;
        const events = request.events.map((e) => e.type);
        const winners = new Set(pusher.sent.filter((p) => p.message.type === 'accept_result' && p.message.ok).map((p) => p.connectionId.replace(/^conn-/, '')));
        expect(winners.size).toBeLessThanOrEqual(1);
        expect(events.filter((t) => t === 'accepted').length).toBeLessThanOrEqual(1);
        if (request.status === 'matched') expect([...winners]).toEqual([request.mechanic_id]);
        else expect(winners.size).toBe(0);

        // No fallback started after a match or a cancel.
        const ended = events.findIndex((t) => t === 'accepted' || t === 'cancelled');
        if (ended >= 0) expect(events.slice(ended + 1)).not.toContain('fallback_started');
        expect(events.filter((t) => t === 'fallback_started').length).toBeLessThanOrEqual(1);

        // Only the favorite wins inside the window: anyone else only after the fallback opened it.
        if (request.status === 'matched' && request.mechanic_id !== ids.favorite) {
          expect(events.indexOf('fallback_started')).toBeGreaterThanOrEqual(0);
          expect(events.indexOf('fallback_started')).toBeLessThan(events.indexOf('accepted'));
        }

        // The invariant: pending means in the window with a schedule, or already broadcast.
        if (request.status === 'pending') expect(scheduler.live.has(requestId) || events.includes('fallback_started')).toBe(true);
        // Nobody is left thinking a finished request is open: every new_request went out before it ended or is followed by request_taken.
        if (request.status !== 'pending') {
          const broadcastTo = new Set(pusher.sent.filter((p) => p.message.type === 'new_request').map((p) => p.connectionId));
          const takenBy = new Set(
            pusher.sent.filter((p) => p.message.type === 'request_taken' || p.message.type === 'accept_result').map((p) => p.connectionId),
          );
          for (const connection of broadcastTo) expect(takenBy.has(connection)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });
});
