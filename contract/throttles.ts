/**
 * The two stages' route throttles: API Gateway's token bucket per route (a
 * bucket of `burstLimit` requests, refilled at `rateLimit` per second; a
 * request finding it empty is refused: HTTP 429 `{"message":"Too Many
 * Requests"}`). The stack sets them on both stages (lib/constructs/apis.ts)
 * and the sandbox's gateways emulate them, from the same numbers.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html
 *
 * Sizing (README "Sizing the throttles"): the account's 10,000 requests/s,
 * burst 5,000 per Region is shared by every HTTP request, every WebSocket
 * message and connect, and every `@connections` push. An open booking costs
 * two pushes per connected mechanic (`new_request`, then `request_taken`),
 * so intake is throttled hardest; the rest stays well under half the quota.
 *
 * Plain data (no aws-cdk-lib import): the stack, the sandbox and the tests read it.
 */
import { httpRouteKey, httpRoutes } from './routes';

export interface Throttle {
  /** Steady requests per second the route's bucket refills with (API Gateway `ThrottlingRateLimit`). */
  readonly rateLimit: number;
  /** The bucket's size: requests at once before the rate applies (API Gateway `ThrottlingBurstLimit`). */
  readonly burstLimit: number;
}

export interface Throttles {
  /** Each HTTP API route but intake (reads, checkout, cancel, admin): one bucket per route. */
  readonly http: Throttle;
  /** `POST /intake/start`: every booking it takes may become two pushes to every connected mechanic. */
  readonly intake: Throttle;
  /** Each WebSocket route but accept and decline (`$connect`, `sync`, `ping`, `pause`, `resume`, `$default`). */
  readonly webSocket: Throttle;
  /** `accept` and `decline`, each its own bucket: every one reads and writes a booking and may fan out. */
  readonly acceptDecline: Throttle;
}

/**
 * Per route, so the worst case (every route at its rate) is 4 × 100 + 1 = 401 requests/s on the HTTP stage and
 * 6 × 500 + 2 × 100 = 3,200 on the WebSocket stage: together a third of the 10,000 quota, the rest left to the
 * pushes. `webSocket` 500/s matches the account's 500 new connections/s (a reconnect wave is not cut further);
 * intake 1/s sustained (3,600 bookings an hour, 5 at once) is 2,000 pushes/s at 1,000 mechanics.
 */
export const DEFAULT_THROTTLES: Throttles = {
  http: { rateLimit: 100, burstLimit: 200 },
  intake: { rateLimit: 1, burstLimit: 5 },
  webSocket: { rateLimit: 500, burstLimit: 1000 },
  acceptDecline: { rateLimit: 100, burstLimit: 200 },
};

/** A stage's throttles as API Gateway's stage settings hold them: every route's default, and the routes with their own. */
export interface StageThrottles {
  readonly defaultRoute: Throttle;
  /** By route key: `POST /intake/start` (HTTP), `accept` (WebSocket). */
  readonly routes: Readonly<Record<string, Throttle>>;
}

const intakeRoute = httpRoutes.find((route) => route.function === 'intakeStart')!;
/** The HTTP route key API Gateway names intake by. */
export const INTAKE_ROUTE_KEY = httpRouteKey(intakeRoute);
/** The WebSocket route keys throttled as `acceptDecline`. */
export const ACCEPT_DECLINE_ROUTE_KEYS = ['accept', 'decline'] as const;

export const httpStageThrottles = (throttles: Throttles): StageThrottles => ({
  defaultRoute: throttles.http,
  routes: { [INTAKE_ROUTE_KEY]: throttles.intake },
});

export const webSocketStageThrottles = (throttles: Throttles): StageThrottles => ({
  defaultRoute: throttles.webSocket,
  routes: Object.fromEntries(ACCEPT_DECLINE_ROUTE_KEYS.map((key) => [key, throttles.acceptDecline])),
});

/** The throttle a route runs under: its own, else the stage's default. */
export const throttleOf = (stage: StageThrottles, routeKey: string): Throttle => stage.routes[routeKey] ?? stage.defaultRoute;

/** What is wrong with a throttle (API Gateway takes a rate ≥ 0 and a whole burst ≥ 0), or undefined. */
export function throttleProblem(throttle: Throttle): string | undefined {
  if (!Number.isFinite(throttle.rateLimit) || throttle.rateLimit < 0) return `rateLimit must be a number ≥ 0, got ${throttle.rateLimit}`;
  if (!Number.isInteger(throttle.burstLimit) || throttle.burstLimit < 0) return `burstLimit must be a whole number ≥ 0, got ${throttle.burstLimit}`;
  return undefined;
}

/** `rate/burst`, as the CLI flags and cdk context spell a throttle: `100/200`, `0.5/5`. */
export function parseThrottle(text: string): Throttle | undefined {
  const found = /^\s*([0-9]+(?:\.[0-9]+)?)\s*\/\s*([0-9]+)\s*$/.exec(text);
  return found ? { rateLimit: Number(found[1]), burstLimit: Number(found[2]) } : undefined;
}

export const formatThrottle = (throttle: Throttle): string => `${throttle.rateLimit}/${throttle.burstLimit}`;
