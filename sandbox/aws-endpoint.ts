/**
 * One AWS endpoint (like LocalStack's :4566) routing each request by the
 * service name in its SigV4 credential scope, so the real SDK and the real
 * CLI reach DynamoDB, SSM, Scheduler, Lambda and CloudWatch through `--endpoint-url` alone.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AwsError, readBody, send, sendJsonProtocolError, sendLambdaError, sendRestJsonError, signingService, type AwsService } from './aws-wire';
import { defaultStatus, type Faults, type FaultService } from './faults';
import { listen, type Listening } from './listen';

export type AwsEndpoint = Listening;

/** The REST services' error shapes; the others speak a JSON protocol. */
const REST_ERRORS: Record<string, (res: ServerResponse, error: AwsError) => void> = { scheduler: sendRestJsonError, lambda: sendLambdaError };

export async function startAwsEndpoint(options: { host?: string; port: number; services: Record<string, AwsService>; faults?: Faults }): Promise<AwsEndpoint> {
  const server: Server = createServer((req, res) => {
    void route(options.services, req, res, options.faults);
  });
  server.keepAliveTimeout = 65_000;
  return listen(server, options.port, options.host);
}

async function route(services: Record<string, AwsService>, req: IncomingMessage, res: ServerResponse, faults?: Faults): Promise<void> {
  if (allowBrowsers(req, res)) return;
  const name = signingService(req);
  const service = name ? services[name] : undefined;
  const sendError = REST_ERRORS[name ?? ''] ?? sendJsonProtocolError;
  try {
    if (!service) {
      // Unsigned or unknown: answer like AWS does to a request it cannot attribute.
      await readBody(req);
      throw new AwsError(
        400,
        'UnrecognizedClientException',
        name ? `The sandbox does not emulate the ${name} service` : 'Missing or malformed SigV4 Authorization header',
      );
    }
    // DynamoDB streams to dynalite untouched (so its faults match on the operation alone); the others get the body read.
    const body = name === 'dynamodb' ? undefined : await readBody(req);
    // `lambda` faults fail a function's run (sandbox/lambda-host.ts); `lambda-api` ones fail the Invoke call itself.
    const faultService = (name === 'lambda' ? 'lambda-api' : name) as FaultService;
    const fault = faults?.take(faultService, operationOf(name!, req), body?.toString('utf8') ?? '');
    if (fault) {
      if (!body) await readBody(req);
      const error = new AwsError(
        fault.status ?? defaultStatus(fault.error, name! in REST_ERRORS ? 'rest' : 'json'),
        fault.error,
        fault.message ?? `Injected fault: ${fault.error}`,
      );
      return sendError(res, error);
    }
    await service(req, res, body ?? Buffer.alloc(0));
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof AwsError) return sendError(res, error);
    send(res, 500, { __type: 'InternalFailure', message: (error as Error).message });
  }
}

/**
 * CORS, as AWS's service endpoints answer the SDK running in a browser (the web console's ops view signs its
 * SSM, Scheduler, Lambda, DynamoDB and CloudWatch calls there): any origin, the headers the preflight asks for
 * (`*` would not cover Authorization), and the response headers the SDK reads. True when the request was a preflight, now answered.
 */
function allowBrowsers(req: IncomingMessage, res: ServerResponse): boolean {
  if (!req.headers.origin) return false;
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-expose-headers', 'x-amzn-requestid, x-amzn-errortype, x-amzn-query-error, x-amz-request-id, date');
  if (req.method !== 'OPTIONS') return false;
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, POST, PUT, DELETE',
    'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
    'access-control-max-age': '600',
  });
  res.end();
  return true;
}

/** The AWS operation a request calls: from `X-Amz-Target` (JSON protocols) or method and path (Scheduler's and Lambda's REST). */
export function operationOf(service: string, req: IncomingMessage): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? '';
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (service === 'lambda') {
    if (req.method === 'POST' && path.endsWith('/invocations')) return 'Invoke';
    return req.method === 'GET' && path.endsWith('/configuration') ? 'GetFunctionConfiguration' : '';
  }
  if (service !== 'scheduler') return '';
  const kind = path.startsWith('/schedule-groups') ? 'ScheduleGroup' : path.startsWith('/tags') ? 'Tags' : 'Schedule';
  const one = /^\/(schedules|schedule-groups)\/[^/]+$/.test(path);
  if (kind === 'Tags') return req.method === 'GET' ? 'ListTagsForResource' : req.method === 'POST' ? 'TagResource' : 'UntagResource';
  switch (req.method) {
    case 'POST':
      return `Create${kind}`;
    case 'PUT':
      return `Update${kind}`;
    case 'DELETE':
      return `Delete${kind}`;
    default:
      return one ? `Get${kind}` : `List${kind}s`;
  }
}
