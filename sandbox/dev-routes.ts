/**
 * Local-only routes on the HTTP port, answered before the API's own:
 *   POST /dev/token {"sub","scope"?,"expires_in"?} → {"token"}    a token the gateways accept
 *   GET  /dev/.well-known/jwks.json                                 the keys they check against
 *   POST|GET|DELETE /dev/faults                                     fault injection (sandbox/faults.ts)
 *   GET  /dev/dead-letters                                          fallback invocations the scheduler gave up on
 * They exist only in the sandbox; the stack has no /dev route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from './aws-wire';
import type { DevAuth, TokenRequest } from './dev-auth';
import { FaultSpecError, type Faults } from './faults';

export function devRoutes(deps: { auth: DevAuth; faults: Faults; deadLetters: () => unknown[] }) {
  const invalid = (res: ServerResponse, message: string): true => (send(res, 400, { error: { code: 'invalid_request', message } }), true);

  return async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!path.startsWith('/dev/')) return false;
    const route = `${req.method} ${path}`;
    let json: Record<string, unknown> = {};
    if (req.method === 'POST') {
      try {
        json = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return send(res, 400, { error: { code: 'invalid_json', message: 'body is not valid JSON' } }), true;
      }
    }
    switch (route) {
      case 'GET /dev/.well-known/jwks.json':
        return send(res, 200, deps.auth.jwks()), true;
      case 'POST /dev/token': {
        const request = json as Partial<TokenRequest>;
        if (typeof request.sub !== 'string' || !request.sub) return invalid(res, 'sub is required');
        if (request.scope !== undefined && typeof request.scope !== 'string') return invalid(res, 'scope must be a string');
        if (request.expires_in !== undefined && !Number.isInteger(request.expires_in)) return invalid(res, 'expires_in must be whole seconds');
        return send(res, 200, { token: await deps.auth.issue({ sub: request.sub, scope: request.scope, expires_in: request.expires_in }) }), true;
      }
      case 'POST /dev/faults':
        try {
          return send(res, 201, { fault: deps.faults.add(json) }), true;
        } catch (error) {
          if (error instanceof FaultSpecError) return invalid(res, error.message);
          throw error;
        }
      case 'GET /dev/faults':
        return send(res, 200, { faults: deps.faults.list(), injected: deps.faults.injected }), true;
      case 'DELETE /dev/faults':
        deps.faults.clear();
        return send(res, 204, undefined, {}), true;
      case 'GET /dev/dead-letters': {
        const deadLetters = deps.deadLetters();
        return send(res, 200, { count: deadLetters.length, dead_letters: deadLetters }), true;
      }
      default:
        return send(res, 404, { message: 'Not Found' }), true;
    }
  };
}
