/**
 * Server → client WebSocket messages (DESIGN §3), `type` first: offers and
 * their outcomes to mechanics, `session_status` and `sessions` to customers. The pusher
 * adds `sent_at` (server time, ISO 8601) to each as it sends it (Pusher port).
 */
import type { AcceptRefusal, Booking, BookingSummary, NewRequestReason } from './booking';
import { type CustomerStatus, customerStatus } from './customer';

/** `priority`: the favorite's window, theirs alone; `open`: open to their audience (everyone, or their workshop). */
export type OfferKind = 'priority' | 'open';

/** One request a mechanic may act on now, as `sync` lists it; `expires_at` is the deadline of its current state. */
export interface Offer {
  readonly request_id: string;
  readonly session_id: string;
  readonly kind: OfferKind;
  readonly expires_at: string;
  readonly concern: string;
  readonly vehicle: Booking['vehicle'];
}

/** Why a request is no longer available. */
export type TakenReason = 'accepted' | 'cancelled' | 'expired';

export type ServerMessage =
  | {
      type: 'priority_session_request';
      request_id: string;
      session_id: string;
      expires_at: string;
      window_seconds: number;
      concern: string;
      vehicle: Booking['vehicle'];
    }
  | {
      type: 'new_request';
      request_id: string;
      session_id: string;
      reason: NewRequestReason;
      /** When the open request expires if nobody takes it. */
      expires_at: string;
      concern: string;
      vehicle: Booking['vehicle'];
    }
  | { type: 'accept_result'; request_id: string; ok: true }
  | { type: 'accept_result'; request_id: string; ok: false; reason: AcceptRefusal }
  | { type: 'request_taken'; request_id: string; reason: TakenReason; by_you?: true }
  | { type: 'availability'; paused: boolean }
  | {
      type: 'offers';
      offers: Offer[];
      /** The server's time the list was read at: a client compares `expires_at` with it, not with its own clock. */
      server_time: string;
      /** Whether the mechanic is paused now: a reconnected app shows it without asking (`availability` tells changes). */
      paused: boolean;
      /** Present when offers were left out to keep the message under API Gateway's limit. */
      truncated?: true;
    }
  | ({ type: 'session_status' } & CustomerStatus)
  /** The answer to a customer's `sync`: their latest bookings, newest first. */
  | { type: 'sessions'; sessions: CustomerStatus[]; server_time: string }
  | { type: 'pong' }
  | { type: 'error'; code: string; message: string };

export type OffersMessage = Extract<ServerMessage, { type: 'offers' }>;

export const priorityOffer = (request: Booking, expiresAt: string, windowSeconds: number): ServerMessage => ({
  type: 'priority_session_request',
  request_id: request.request_id,
  session_id: request.session_id,
  expires_at: expiresAt,
  window_seconds: windowSeconds,
  concern: request.concern,
  vehicle: request.vehicle,
});

export const newRequest = (request: Booking, reason: NewRequestReason, expiresAt: string): ServerMessage => ({
  type: 'new_request',
  request_id: request.request_id,
  session_id: request.session_id,
  reason,
  expires_at: expiresAt,
  concern: request.concern,
  vehicle: request.vehicle,
});

export const acceptResult = (requestId: string, refusal: AcceptRefusal | null): ServerMessage =>
  refusal === null ? { type: 'accept_result', request_id: requestId, ok: true } : { type: 'accept_result', request_id: requestId, ok: false, reason: refusal };

export const requestTaken = (requestId: string, reason: TakenReason): ServerMessage => ({ type: 'request_taken', request_id: requestId, reason });

/** To the winner's other connections (another phone, a tablet): taken, and by them. */
export const takenByYou = (requestId: string): ServerMessage => ({ type: 'request_taken', request_id: requestId, reason: 'accepted', by_you: true });

/** The answer to `pause` / `resume`, on every connection of the mechanic. */
export const availability = (paused: boolean): ServerMessage => ({ type: 'availability', paused });
/**
 * API Gateway refuses a WebSocket message over 128 KB ("Message payload size", not adjustable:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html).
 * A concern may be 2,000 characters, so an `offers` answer stops adding offers before this many bytes of JSON,
 * which leaves room for the envelope and `sent_at`.
 */
export const OFFERS_MAX_BYTES = 100_000;

/**
 * The answer to `sync`: `offers` in the order given (soonest deadline first), as many as fit in
 * OFFERS_MAX_BYTES; `truncated` when some did not. The ones left out expire later than any sent.
 */
export function offersAnswer(offers: readonly Offer[], serverTime: string, paused: boolean): OffersMessage {
  const envelope = { type: 'offers', offers: [] as Offer[], server_time: serverTime, paused, truncated: true } as const;
  let bytes = jsonBytes(envelope);
  const fitting: Offer[] = [];
  for (const offer of offers) {
    // Each offer after the first adds a comma.
    bytes += jsonBytes(offer) + (fitting.length ? 1 : 0);
    if (bytes > OFFERS_MAX_BYTES) break;
    fitting.push(offer);
  }
  return fitting.length < offers.length
    ? { type: 'offers', offers: fitting, server_time: serverTime, paused, truncated: true }
    : { type: 'offers', offers: fitting, server_time: serverTime, paused };
}

const utf8 = new TextEncoder();
const jsonBytes = (value: unknown): number => utf8.encode(JSON.stringify(value)).byteLength;
/** To the customer's connections, at each change of their booking they care about. */
export const sessionStatusUpdate = (booking: BookingSummary): ServerMessage => ({ type: 'session_status', ...customerStatus(booking) });

export const sessionsAnswer = (bookings: readonly BookingSummary[], serverTime: string): ServerMessage => ({
  type: 'sessions',
  sessions: bookings.map(customerStatus),
  server_time: serverTime,
});

export const pong = (): ServerMessage => ({ type: 'pong' });

export const errorEvent = (code: string, message: string): ServerMessage => ({ type: 'error', code, message });
