/**
 * The session request mechanics compete for, and its rules: who may take it,
 * when the fallback may run. The DynamoDB adapter enforces the same rules as
 * condition expressions; these pure versions explain a refusal and are unit tested.
 */
import type { Vehicle } from './session';

export type RequestStatus = 'pending' | 'matched' | 'cancelled';
export type Routing = 'priority' | 'broadcast' | 'workshop';

export type FallbackReason = 'preferred_mechanic_no_response' | 'preferred_mechanic_declined' | 'priority_failed';

/** The seed's audit fields, kept as they were so existing dashboards still read them. */
export interface RequestMetadata {
  priority_notified_at?: string;
  priority_mechanic_id?: string;
  priority_window_minutes?: number;
  fallback_broadcast_at?: string;
  fallback_reason?: FallbackReason;
}

export interface AuditEvent {
  readonly at: string;
  readonly type: string;
  readonly [detail: string]: unknown;
}

export interface DispatchRequest {
  readonly request_id: string;
  readonly session_id: string;
  readonly customer_id: string;
  readonly status: RequestStatus;
  readonly routing: Routing;
  readonly preferred_mechanic_id: string | null;
  readonly workshop_id: string | null;
  /** The winner, once matched. */
  readonly mechanic_id: string | null;
  /** End of the priority window (ISO 8601 UTC); null when there is no window. */
  readonly expires_at: string | null;
  readonly concern: string;
  readonly vehicle: Vehicle | null;
  readonly metadata: RequestMetadata;
  readonly events: readonly AuditEvent[];
  readonly created_at: string;
}

export type AcceptRefusal = 'already_matched' | 'priority_window' | 'cancelled' | 'not_found';

export interface Acceptor {
  readonly mechanicId: string;
  readonly workshopId: string | null;
}

/** Has the request been opened to everyone (after a priority window ended or failed)? */
export const isOpenToAll = (request: DispatchRequest): boolean => request.routing === 'broadcast' || request.metadata.fallback_broadcast_at !== undefined;

/** Whether this mechanic may take the request now; the reason when not. */
export function acceptRefusal(request: DispatchRequest | undefined, acceptor: Acceptor): AcceptRefusal | null {
  if (!request) return 'not_found';
  if (request.status === 'matched') return request.mechanic_id === acceptor.mechanicId ? null : 'already_matched';
  if (request.status === 'cancelled') return 'cancelled';
  if (isOpenToAll(request)) return null;
  // A workshop request was never offered outside the workshop: to others it does not exist.
  if (request.routing === 'workshop') return request.workshop_id === acceptor.workshopId ? null : 'not_found';
  return request.preferred_mechanic_id === acceptor.mechanicId ? null : 'priority_window';
}

/** The fallback broadcasts only a pending priority request that has not fallen back yet. */
export const canFallBack = (request: DispatchRequest | undefined): boolean =>
  !!request && request.status === 'pending' && request.routing === 'priority' && request.metadata.fallback_broadcast_at === undefined;

/** Whom a request was offered to, so `request_taken` reaches exactly them. */
export type Audience =
  | { readonly kind: 'mechanic'; readonly mechanicId: string }
  | { readonly kind: 'workshop'; readonly workshopId: string }
  | { readonly kind: 'everyone' };

export function offeredTo(request: DispatchRequest): Audience {
  if (request.routing === 'workshop' && request.workshop_id) return { kind: 'workshop', workshopId: request.workshop_id };
  if (request.routing === 'priority' && !isOpenToAll(request) && request.preferred_mechanic_id)
    return { kind: 'mechanic', mechanicId: request.preferred_mechanic_id };
  return { kind: 'everyone' };
}

export const windowMinutes = (windowSeconds: number): number => Math.round((windowSeconds / 60) * 100) / 100;
