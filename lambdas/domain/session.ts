/** A customer's booking, as stored and as `GET /sessions/{id}` shows it. */

export const PLANS = ['free', 'trial', 'credit', 'paid'] as const;
export type Plan = (typeof PLANS)[number];

export const ROUTING_TYPES = ['broadcast', 'priority_broadcast'] as const;
export type RoutingType = (typeof ROUTING_TYPES)[number];

export type SessionStatus = 'awaiting_checkout' | 'fulfilled' | 'cancelled';

export interface Vehicle {
  readonly make: string;
  readonly model: string;
  readonly year: number;
}

/** The favorite context the fulfillment reads back (DESIGN §1.1). */
export interface SessionMetadata {
  readonly preferred_mechanic_id?: string;
  readonly routing_type?: RoutingType;
}

export interface Session {
  readonly session_id: string;
  readonly customer_id: string;
  readonly plan: Plan;
  readonly status: SessionStatus;
  readonly concern: string;
  readonly vehicle: Vehicle | null;
  readonly workshop_id: string | null;
  readonly metadata: SessionMetadata;
  /** Set once the session is fulfilled; derived from the session id, so retries find the same request. */
  readonly request_id: string | null;
  /** Fingerprint of the intake body, to refuse an `Idempotency-Key` reused for a different booking. */
  readonly intake_fingerprint: string;
  readonly created_at: string;
  readonly updated_at: string;
}

/** Free, trial and credit sessions need no payment, so they are fulfilled at intake. */
export const isFulfilledAtIntake = (plan: Plan): boolean => plan !== 'paid';
