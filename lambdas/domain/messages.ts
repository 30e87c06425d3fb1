/**
 * Server → mechanic WebSocket messages (DESIGN §3), `type` first. The pusher
 * adds `sent_at` (server time, ISO 8601) to each as it sends it (Pusher port).
 */
import type { AcceptRefusal, Booking, NewRequestReason } from './booking';

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
  | { type: 'pong' }
  | { type: 'error'; code: string; message: string };

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

export const pong = (): ServerMessage => ({ type: 'pong' });

export const errorEvent = (code: string, message: string): ServerMessage => ({ type: 'error', code, message });
