/** Everything a use case may be given. Each use case names the part it needs with `Pick`. */
import type {
  BookingStore,
  Clock,
  ConnectionStore,
  FanOut,
  FeatureFlag,
  Logger,
  MechanicStore,
  Metrics,
  OpenBookings,
  Pusher,
  RequestTimer,
  TicketStore,
  TokenVerifier,
} from '../ports';

export interface Deps {
  readonly bookings: BookingStore;
  readonly mechanics: MechanicStore;
  readonly connections: ConnectionStore;
  readonly openBookings: OpenBookings;
  readonly tickets: TicketStore;
  readonly pusher: Pusher;
  readonly fanOut: FanOut;
  readonly timer: RequestTimer;
  readonly flag: FeatureFlag;
  readonly tokens: TokenVerifier;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** How long the favorite has the request to themselves. */
  readonly priorityWindowSeconds: number;
  /** How long the timer waits before finishing a routing an invocation left undone. */
  readonly recoveryDelaySeconds: number;
  /** How long an open request waits for a mechanic before it expires. */
  readonly requestTtlSeconds: number;
  /** Messages one WebSocket connection may send per second before the rest of that second is ignored. */
  readonly messageRateLimit: number;
  /** The most open bookings one customer may hold at once (lambdas/domain/open-bookings.ts). */
  readonly maxOpenBookingsPerCustomer: number;
  /** How long a WebSocket connect ticket stays valid. */
  readonly ticketTtlSeconds: number;
}
