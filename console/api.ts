/**
 * The public APIs as the console reaches them, at the addresses written into
 * index.html: the HTTP API (the sandbox's is this page's own origin; a
 * deployed console's is another, which allows it by CORS) and the WebSocket
 * API. Tokens come from the sandbox's dev issuer (`POST /dev/token`), exactly
 * as a developer gets one with curl; a deployed console has no such issuer,
 * so its users paste a token from theirs (a real app would sign in instead).
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
  const response = await fetch(`${config.httpApiUrl.replace(/\/$/, '')}${path}`, {
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

/** Only the sandbox has a dev issuer; a deployed console's users paste a token from theirs. */
export const issuesDevTokens = config.mode === 'sandbox';
const NO_DEV_TOKENS = 'only the sandbox issues dev tokens: paste a token from your issuer';

/** A sandbox dev token for `sub` (any id; the sandbox seeds the demo ones). */
export async function devToken(sub: string): Promise<string> {
  if (!issuesDevTokens) throw new ApiError(NO_DEV_TOKENS);
  const { token } = await call<{ token: string }>('POST', '/dev/token', { sub });
  return token;
}

/** Refuses at once, with the reason, to connect without a token where no dev token can be had. */
export function needsPastedToken(): Promise<never> {
  return Promise.reject(new ApiError(NO_DEV_TOKENS));
}

/** The `sub` of a pasted JWT, only to say whom it connects as (the server checks the token; this does not). */
export function subjectOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}
