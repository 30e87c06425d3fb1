/** Server → mechanic WebSocket messages (DESIGN §3), `type` first. */
import type { AcceptRefusal, DispatchRequest } from './request';

export type NewRequestReason = 'broadcast' | 'fallback' | 'priority_failed' | 'priority_declined' | 'workshop';

export type ServerMessage =
  | {
      type: 'priority_session_request';
      request_id: string;
      session_id: string;
      expires_at: string;
      window_seconds: number;
      concern: string;
      vehicle: DispatchRequest['vehicle'];
    }
  | { type: 'new_request'; request_id: string; session_id: string; reason: NewRequestReason; concern: string; vehicle: DispatchRequest['vehicle'] }
  | { type: 'accept_result'; request_id: string; ok: true }
  | { type: 'accept_result'; request_id: string; ok: false; reason: AcceptRefusal }
  | { type: 'request_taken'; request_id: string }
  | { type: 'pong' }
  | { type: 'error'; code: string; message: string };

export const priorityOffer = (request: DispatchRequest, windowSeconds: number): ServerMessage => ({
  type: 'priority_session_request',
  request_id: request.request_id,
  session_id: request.session_id,
  expires_at: request.expires_at!,
  window_seconds: windowSeconds,
  concern: request.concern,
  vehicle: request.vehicle,
});

export const newRequest = (request: DispatchRequest, reason: NewRequestReason): ServerMessage => ({
  type: 'new_request',
  request_id: request.request_id,
  session_id: request.session_id,
  reason,
  concern: request.concern,
  vehicle: request.vehicle,
});

export const acceptResult = (requestId: string, refusal: AcceptRefusal | null): ServerMessage =>
  refusal === null ? { type: 'accept_result', request_id: requestId, ok: true } : { type: 'accept_result', request_id: requestId, ok: false, reason: refusal };

export const requestTaken = (requestId: string): ServerMessage => ({ type: 'request_taken', request_id: requestId });

export const pong = (): ServerMessage => ({ type: 'pong' });

export const errorEvent = (code: string, message: string): ServerMessage => ({ type: 'error', code, message });
