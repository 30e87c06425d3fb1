/**
 * Local-only routes on the HTTP port, answered before the API's own:
 *   POST /dev/token {"sub","scope"?,"expires_in"?} → {"token"}    a token the gateways accept
 *   GET  /dev/.well-known/jwks.json                                 the keys they check against
 *   POST|GET|DELETE /dev/faults                                     fault injection (sandbox/faults.ts)
 *   GET  /dev/dead-letters                                          what reached the dead-letter queue (Scheduler's and Lambda's records)
 *   DELETE /dev/dead-letters/{message_id}                           takes one off the queue (SQS's DeleteMessage, after a replay)
 *   GET  /dev/logs?since=<cursor>                                   the log lines after the cursor and the next cursor (no cursor: from now)
 * They exist only in the sandbox; the stack has no /dev route. The last two let another process (the ops CLI)
 * do what it does against AWS with SQS and CloudWatch Logs, which the sandbox does not emulate.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from './aws-wire';
import type { DevAuth, TokenRequest } from './dev-auth';
import { FaultSpecError, type Faults } from './faults';

export interface DevRouteDeps {
  auth: DevAuth;
  faults: Faults;
  deadLetters: () => unknown[];
  /** Removes one dead letter by its `message_id`; false when none has it. */
  removeDeadLetter: (messageId: string) => boolean;
  /** Every log line so far, oldest first (raw handler JSON and sandbox lines); it only grows, so an index is a cursor. */
  logs: readonly string[];
}

export function devRoutes(deps: DevRouteDeps) {
  /** Answers the request; `true` tells the gateway it was a dev route. */
  const answer = (res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): true => {
    send(res, status, body, headers);
    return true;
  };
  const invalid = (res: ServerResponse, message: string): true => answer(res, 400, { error: { code: 'invalid_request', message } });

  return async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (!path.startsWith('/dev/')) return false;
    const deadLetterId = /^\/dev\/dead-letters\/([^/]+)$/.exec(path)?.[1];
    if (req.method === 'DELETE' && deadLetterId !== undefined) {
      return deps.removeDeadLetter(decodeURIComponent(deadLetterId))
        ? answer(res, 204, undefined, {})
        : answer(res, 404, { error: { code: 'not_found', message: `no dead letter has message_id ${decodeURIComponent(deadLetterId)}` } });
    }
    const route = `${req.method} ${path}`;
    let json: Record<string, unknown> = {};
    if (req.method === 'POST') {
      try {
        json = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return answer(res, 400, { error: { code: 'invalid_json', message: 'body is not valid JSON' } });
      }
    }
    switch (route) {
      case 'GET /dev/.well-known/jwks.json':
        return answer(res, 200, deps.auth.jwks());
      case 'POST /dev/token': {
        const request = json as Partial<TokenRequest>;
        if (typeof request.sub !== 'string' || !request.sub) return invalid(res, 'sub is required');
        if (request.scope !== undefined && typeof request.scope !== 'string') return invalid(res, 'scope must be a string');
        if (request.expires_in !== undefined && !Number.isInteger(request.expires_in)) return invalid(res, 'expires_in must be whole seconds');
        return answer(res, 200, { token: await deps.auth.issue({ sub: request.sub, scope: request.scope, expires_in: request.expires_in }) });
      }
      case 'POST /dev/faults':
        try {
          return answer(res, 201, { fault: deps.faults.add(json) });
        } catch (error) {
          if (error instanceof FaultSpecError) return invalid(res, error.message);
          throw error;
        }
      case 'GET /dev/faults':
        return answer(res, 200, { faults: deps.faults.list(), injected: deps.faults.injected });
      case 'DELETE /dev/faults':
        deps.faults.clear();
        return answer(res, 204, undefined, {});
      case 'GET /dev/dead-letters': {
        const deadLetters = deps.deadLetters();
        return answer(res, 200, { count: deadLetters.length, dead_letters: deadLetters });
      }
      case 'GET /dev/logs': {
        const since = url.searchParams.get('since');
        const next = deps.logs.length;
        if (since === null) return answer(res, 200, { lines: [], next });
        if (!/^\d+$/.test(since)) return invalid(res, 'since must be a cursor (a whole number) from an earlier answer');
        return answer(res, 200, { lines: deps.logs.slice(Number(since), next), next });
      }
      default:
        return answer(res, 404, { message: 'Not Found' });
    }
  };
}
