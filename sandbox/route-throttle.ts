/**
 * API Gateway's route throttling, as both gateways apply it: one token bucket
 * per route of the stage (`burstLimit` tokens, refilled at `rateLimit` per
 * second, full at start); a request takes a token or is refused, and a
 * refused one takes none. The limits are the stack's (contract/throttles.ts).
 * AWS calls its throttles targets applied "on a best-effort basis"; this one
 * is exact, so a test can provoke it.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
 */
import { type StageThrottles, type Throttle, throttleOf } from '../contract/throttles';

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (epoch ms). */
  at: number;
}

export class RouteThrottle {
  private readonly buckets = new Map<string, Bucket>();

  /** `stage` undefined: no route throttling (the account's own limit is not emulated). */
  constructor(
    private readonly stage: StageThrottles | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token from the route's bucket: false when it is empty (API Gateway's 429). */
  take(routeKey: string): boolean {
    if (!this.stage) return true;
    const throttle = throttleOf(this.stage, routeKey);
    const now = this.now();
    const bucket = this.buckets.get(routeKey) ?? { tokens: throttle.burstLimit, at: now };
    refill(bucket, throttle, now);
    this.buckets.set(routeKey, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

function refill(bucket: Bucket, throttle: Throttle, now: number): void {
  bucket.tokens = Math.min(throttle.burstLimit, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * throttle.rateLimit);
  bucket.at = now;
}

/** What API Gateway answers a throttled HTTP request and a throttled `$connect` handshake with. */
export const TOO_MANY_REQUESTS = { status: 429, message: 'Too Many Requests' } as const;
