/**
 * Sync: a mechanic's one `offers` answer lists what they may act on now — their priority offers
 * (kind priority) and the requests open to everyone or to their workshop (kind open), soonest
 * deadline first — and nothing else: not another mechanic's window, not another workshop's
 * request, not what they declined, not a request past its deadline or ended. An answer that
 * would outgrow API Gateway's message limit is cut, soonest kept, and says `truncated`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { OFFERS_MAX_BYTES, type OffersMessage } from '../../../lambdas/domain/messages';
import { acceptRequest } from '../../../lambdas/use-cases/accept-request';
import { cancelBooking, startIntake } from '../../../lambdas/use-cases/booking';
import { declineRequest } from '../../../lambdas/use-cases/decline-request';
import { syncMechanic } from '../../../lambdas/use-cases/sync';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory-ports';
import { addMechanic, at, booking, newCustomerId, offeredBooking, openBooking, phone, type TestMechanic } from './fixtures';

let deps: InMemoryDeps;
let favorite: TestMechanic;
let other: TestMechanic;
beforeEach(async () => {
  deps = inMemoryDeps({ priorityEnabled: true, priorityWindowSeconds: 600, requestTtlSeconds: 1800 });
  favorite = await addMechanic(deps, { workshopId: 'ws-north' });
  other = await addMechanic(deps);
});

/** Syncs the mechanic's first connection; returns the one answer it got. */
async function sync(mechanic: TestMechanic, workshopId: string | null = null): Promise<OffersMessage> {
  await syncMechanic(deps, { mechanicId: mechanic.mechanicId, workshopId, connectionId: phone(mechanic) });
  const answers = deps.pusher.sentTo(phone(mechanic)).filter((m): m is OffersMessage => m.type === 'offers');
  return answers.at(-1)!;
}

async function workshopBooking(workshopId: string): Promise<string> {
  const answer = await startIntake(deps, { customerId: newCustomerId(), booking: booking({ workshop_id: workshopId }) });
  return answer.request_id!;
}

describe('syncMechanic', () => {
  it('a paused mechanic: only the priority offer they already hold, no open requests', async () => {
    // Arrange: the window went out before the pause
    const offered = await offeredBooking(deps, favorite);
    await openBooking(deps);
    await deps.mechanics.setPaused(favorite.mechanicId, true, at(0));

    // Act
    const answer = await sync(favorite);

    // Assert
    expect(answer.offers.map((o) => [o.request_id, o.kind])).toEqual([[offered.requestId, 'priority']]);
    expect(answer.paused).toBe(true);
  });

  it('lists the priority offer, the open request and the workshop request, soonest deadline first, to the asking connection only', async () => {
    // Arrange: open at 0 s (until 1800 s), the favorite's window at 100 s (until 700 s), the workshop's at 200 s (until 2000 s)
    const open = await openBooking(deps);
    deps.clock.advance(100);
    const offered = await offeredBooking(deps, favorite);
    deps.clock.advance(100);
    const workshop = await workshopBooking('ws-north');
    await workshopBooking('ws-south');
    await offeredBooking(deps, other);
    deps.clock.advance(50);
    const sentBefore = deps.pusher.sent.length;

    // Act
    const answer = await sync(favorite, 'ws-north');

    // Assert
    expect(answer).toEqual({
      type: 'offers',
      server_time: at(250),
      paused: false,
      offers: [
        {
          request_id: offered.requestId,
          session_id: offered.sessionId,
          kind: 'priority',
          expires_at: at(700),
          concern: booking().concern,
          vehicle: booking().vehicle,
        },
        { request_id: open.requestId, session_id: open.sessionId, kind: 'open', expires_at: at(1800), concern: booking().concern, vehicle: booking().vehicle },
        {
          request_id: workshop,
          session_id: workshop.slice('req-'.length),
          kind: 'open',
          expires_at: at(2000),
          concern: booking().concern,
          vehicle: booking().vehicle,
        },
      ],
    });
    expect(deps.pusher.sent.slice(sentBefore)).toEqual([{ connectionId: phone(favorite), message: answer }]);
  });

  it('another mechanic sees only what is open to everyone: not the favorite’s window, not a workshop they are not in', async () => {
    // Arrange
    const open = await openBooking(deps);
    await offeredBooking(deps, favorite);
    await workshopBooking('ws-north');

    // Act
    const answer = await sync(other);

    // Assert
    expect(answer.offers.map((o) => [o.request_id, o.kind])).toEqual([[open.requestId, 'open']]);
  });

  it('leaves out what the mechanic declined, and only for them', async () => {
    // Arrange
    const declined = await openBooking(deps);
    const kept = await openBooking(deps);
    await declineRequest(deps, { requestId: declined.requestId, mechanicId: other.mechanicId, connectionId: phone(other) });

    // Act
    const forDecliner = await sync(other);
    const forFavorite = await sync(favorite, 'ws-north');

    // Assert
    expect(forDecliner.offers.map((o) => o.request_id)).toEqual([kept.requestId]);
    expect(forFavorite.offers.map((o) => o.request_id).sort()).toEqual([declined.requestId, kept.requestId].sort());
  });

  it('leaves out a priority offer whose window has passed though its timer has not fired yet', async () => {
    // Arrange
    await offeredBooking(deps, favorite);
    deps.clock.advance(600);

    // Act
    const answer = await sync(favorite, 'ws-north');

    // Assert
    expect(answer).toEqual({ type: 'offers', offers: [], server_time: at(600), paused: false });
  });

  it('leaves out requests that ended: accepted, cancelled', async () => {
    // Arrange
    const accepted = await openBooking(deps);
    const cancelled = await openBooking(deps);
    await acceptRequest(deps, { requestId: accepted.requestId, mechanicId: other.mechanicId, connectionId: phone(other) });
    await cancelBooking(deps, { customerId: cancelled.customerId, sessionId: cancelled.sessionId });

    // Act
    const answer = await sync(favorite, 'ws-north');

    // Assert
    expect(answer.offers).toEqual([]);
  });

  it('an answer that would outgrow the message limit keeps the soonest deadlines, says truncated, and stays under the limit', async () => {
    // Arrange: 80 open requests with 2,000-character concerns (over 160 KB), one a second
    const requestIds: string[] = [];
    for (let i = 0; i < 80; i++) {
      const answer = await startIntake(deps, { customerId: newCustomerId(), booking: booking({ concern: `${i} ${'x'.repeat(1990)}` }) });
      requestIds.push(answer.request_id!);
      deps.clock.advance(1);
    }

    // Act
    const answer = await sync(other);

    // Assert
    expect(answer.truncated).toBe(true);
    expect(answer.offers.length).toBeGreaterThan(30);
    expect(answer.offers.map((o) => o.request_id)).toEqual(requestIds.slice(0, answer.offers.length));
    expect(new TextEncoder().encode(JSON.stringify({ ...answer, sent_at: at(0) })).byteLength).toBeLessThanOrEqual(OFFERS_MAX_BYTES + 100);
    expect(OFFERS_MAX_BYTES).toBeLessThan(128 * 1024);
  });

  it('with nothing pending, an empty list and no declines read', async () => {
    // Arrange
    const declinedBy = deps.bookings.declinedBy.bind(deps.bookings);
    let declineReads = 0;
    deps.bookings.declinedBy = (...args) => {
      declineReads++;
      return declinedBy(...args);
    };

    // Act
    const answer = await sync(other);

    // Assert
    expect(answer).toEqual({ type: 'offers', offers: [], server_time: at(0), paused: false });
    expect(declineReads).toBe(0);
  });
});
