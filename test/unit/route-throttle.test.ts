/** API Gateway's token bucket per route, as the sandbox's gateways apply it, on an injected clock. */
import { describe, expect, it } from 'vitest';
import type { StageThrottles } from '../../contract/throttles';
import { RouteThrottle } from '../../sandbox/route-throttle';

const stage: StageThrottles = { defaultRoute: { rateLimit: 2, burstLimit: 3 }, routes: { accept: { rateLimit: 0.5, burstLimit: 1 } } };

function throttleAt(start = 1_000_000): { throttle: RouteThrottle; advance: (ms: number) => void } {
  let now = start;
  return { throttle: new RouteThrottle(stage, () => now), advance: (ms) => (now += ms) };
}

const takes = (throttle: RouteThrottle, routeKey: string, n: number): boolean[] => Array.from({ length: n }, () => throttle.take(routeKey));

describe('RouteThrottle', () => {
  it('starts full: the burst passes, the next request is refused', () => {
    const { throttle } = throttleAt();
    expect(takes(throttle, 'sync', 4)).toEqual([true, true, true, false]);
    expect(takes(throttle, 'accept', 2)).toEqual([true, false]);
  });

  it('refills at the rate, a fraction at a time, never past the burst', () => {
    // Arrange: both buckets empty
    const { throttle, advance } = throttleAt();
    takes(throttle, 'sync', 3);
    takes(throttle, 'accept', 1);

    // Act + Assert: 2/s is one token per 500 ms; 0.5/s one per 2 s (from the same start)
    advance(499);
    expect(throttle.take('sync')).toBe(false);
    advance(1);
    expect(throttle.take('sync')).toBe(true);
    advance(1_499);
    expect(throttle.take('accept')).toBe(false);
    advance(1);
    expect(throttle.take('accept')).toBe(true);
    advance(60_000);
    expect(takes(throttle, 'sync', 4)).toEqual([true, true, true, false]);
  });

  it('a refused request takes no token: refusals do not push the refill back', () => {
    const { throttle, advance } = throttleAt();
    takes(throttle, 'accept', 1);
    for (let i = 0; i < 19; i++) {
      advance(100);
      expect(throttle.take('accept')).toBe(false);
    }
    advance(100);
    expect(throttle.take('accept')).toBe(true);
  });

  it('each route has its own bucket: one route emptied does not touch another', () => {
    const { throttle } = throttleAt();
    takes(throttle, 'ping', 3);
    expect(takes(throttle, 'sync', 3)).toEqual([true, true, true]);
    expect(throttle.take('decline')).toBe(true);
  });

  it('a burst of 0 refuses everything; no stage throttles nothing', () => {
    const closed = new RouteThrottle({ defaultRoute: { rateLimit: 100, burstLimit: 0 }, routes: {} }, () => 0);
    expect(takes(closed, 'ping', 3)).toEqual([false, false, false]);
    expect(takes(new RouteThrottle(undefined), 'ping', 1000).every(Boolean)).toBe(true);
  });
});
