/**
 * The public APIs as the console reaches them: the HTTP API on this page's
 * own origin, and the WebSocket API whose address the sandbox writes into
 * index.html. Tokens come from the sandbox's dev issuer (`POST /dev/token`),
 * exactly as a developer gets one with curl; a real app would sign in instead.
 */
import type { ConsoleConfig } from '../contract/console';

export const config = JSON.parse(document.getElementById('config')?.textContent ?? '{}') as ConsoleConfig;

/**
 * The WebSocket address for one handshake: a fresh single-use ticket from `POST /ws/ticket` (the JWT goes in the
 * Authorization header, never into a URL that proxies and logs keep), asked for before every (re)connect.
 */
export async function wsUrl(token: string, role: 'customer' | 'mechanic' = 'mechanic'): Promise<string> {
  const { ticket } = await call<{ ticket: string }>('POST', '/ws/ticket', { role }, token);
  return `${config.wsUrl}?ticket=${encodeURIComponent(ticket)}`;
}

export class ApiError extends Error {}

/** A JSON call to the HTTP API; an error answer (`{"error":{code,message}}` or API Gateway's `{"message"}`) throws its message. */
export async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    const error = json.error as { message?: string } | undefined;
    throw new ApiError(`${response.status}: ${error?.message ?? json.message ?? response.statusText}`);
  }
  return json as T;
}

/** A sandbox dev token for `sub` (any id; the sandbox seeds the demo ones). */
export async function devToken(sub: string): Promise<string> {
  const { token } = await call<{ token: string }>('POST', '/dev/token', { sub });
  return token;
}
