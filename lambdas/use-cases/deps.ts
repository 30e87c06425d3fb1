/** Everything a use case may be given. Each use case names the part it needs with `Pick`. */
import type {
  Clock,
  ConnectionStore,
  FallbackScheduler,
  FeatureFlag,
  Logger,
  MechanicStore,
  Metrics,
  Pusher,
  RequestStore,
  SessionStore,
  TokenVerifier,
} from '../ports';

export interface Deps {
  readonly sessions: SessionStore;
  readonly requests: RequestStore;
  readonly mechanics: MechanicStore;
  readonly connections: ConnectionStore;
  readonly pusher: Pusher;
  readonly scheduler: FallbackScheduler;
  readonly flag: FeatureFlag;
  readonly tokens: TokenVerifier;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** How long the favorite has the request to themselves. */
  readonly priorityWindowSeconds: number;
  /** When a routing guard finishes a routing whose invocation died. */
  readonly routingGuardSeconds: number;
}
