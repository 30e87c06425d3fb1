/**
 * Lambda's API on the sandbox's AWS endpoint, so handlers fan work out
 * with `@aws-sdk/client-lambda` (and operators use `aws lambda invoke`) as on
 * AWS. Two operations:
 * - Invoke (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html),
 *   `POST /2015-03-31/functions/{FunctionName}/invocations`:
 *   `X-Amz-Invocation-Type: Event` queues the event for Lambda's asynchronous
 *   invocation (sandbox/lambda-async.ts: retries, on-failure destination) and
 *   answers 202; `RequestResponse`, the default, runs the function and answers
 *   200 with its result, or, when it failed, 200 with `X-Amz-Function-Error:
 *   Unhandled` and the error as payload; `DryRun` answers 204.
 * - GetFunctionConfiguration (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html),
 *   `GET /2015-03-31/functions/{FunctionName}/configuration`: the function's
 *   settings and environment, as `aws lambda get-function-configuration` shows
 *   them (the web console's ops view reads the priority window there).
 */
import type { FunctionName } from '../contract/routes';
import { AwsError, send, type AwsService } from './aws-wire';
import { type FunctionConfiguration, InvocationError } from './lambda-host';
import { SANDBOX_ACCOUNT, SANDBOX_REGION } from './account';

/** The payload quotas API_Invoke documents: 6 MB synchronous, 1 MB asynchronous (256 KB until October 2025). */
const MAX_PAYLOAD_BYTES: Record<string, number> = {
  RequestResponse: 6 * 1024 * 1024,
  DryRun: 6 * 1024 * 1024,
  Event: 1024 * 1024,
};

export interface LambdaApiOptions {
  /** The function a (possibly qualified) ARN names, if any: `LambdaHost.functionOfArn`. */
  functionOfArn: (arn: string) => FunctionName | undefined;
  /** Runs the function once: its result, or an `InvocationError` when it threw or timed out. */
  run: (name: FunctionName, payload: unknown) => Promise<unknown>;
  /** Queues an asynchronous invocation: `AsyncInvoker.invoke`. */
  queue: (name: FunctionName, payload: unknown) => void;
  /** The function's configuration: `LambdaHost.configuration`. */
  configuration: (name: FunctionName) => FunctionConfiguration;
}

export function lambdaApi(options: LambdaApiOptions): AwsService {
  /** The function a path's `{FunctionName}` names, or AWS's 404. The sandbox has one version of each function: any qualifier (`:$LATEST`, an alias) names it. */
  const functionNamed = (encoded: string): FunctionName => {
    const arn = fullArn(decodeURIComponent(encoded));
    const fn = options.functionOfArn(arn);
    if (!fn) throw new AwsError(404, 'ResourceNotFoundException', `Function not found: ${arn}`);
    return fn;
  };

  return async (req, res, body) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const configuration = /^\/2015-03-31\/functions\/([^/]+)\/configuration$/.exec(path);
    if (req.method === 'GET' && configuration) return send(res, 200, options.configuration(functionNamed(configuration[1]!)));
    const route = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
    if (req.method !== 'POST' || !route) throw new AwsError(404, 'UnknownOperationException', `The sandbox does not emulate ${req.method} ${path}`);

    const type = req.headers['x-amz-invocation-type'] ?? 'RequestResponse';
    const limit = typeof type === 'string' ? MAX_PAYLOAD_BYTES[type] : undefined;
    if (limit === undefined)
      throw new AwsError(
        400,
        'ValidationException',
        `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      );
    if (body.length > limit) throw new AwsError(413, 'RequestTooLargeException', `Request must be smaller than ${limit} bytes for the Invoke operation`);

    const fn = functionNamed(route[1]!);

    let payload: unknown;
    try {
      // No payload reaches the function as `{}`, as in AWS.
      payload = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch (error) {
      throw new AwsError(400, 'InvalidRequestContentException', `Could not parse request body into json: ${(error as Error).message}`);
    }

    if (type === 'DryRun') return send(res, 204, undefined, {});
    if (type === 'Event') {
      options.queue(fn, payload);
      return send(res, 202, undefined, {});
    }
    const headers = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' };
    try {
      // A handler that returns nothing answers `null`, as the Node.js runtime does.
      return send(res, 200, (await options.run(fn, payload)) ?? null, headers);
    } catch (error) {
      if (!(error instanceof InvocationError)) throw error;
      // A failed run is still a successful Invoke: status 200, the error as payload, flagged by X-Amz-Function-Error.
      return send(res, 200, { errorType: error.errorName, errorMessage: error.message }, { ...headers, 'x-amz-function-error': 'Unhandled' });
    }
  };
}

/** A function name, partial ARN (`123456789012:function:name`) or ARN, each possibly `:qualifier`-ed → its full ARN. */
function fullArn(functionName: string): string {
  if (functionName.startsWith('arn:')) return functionName;
  if (/^\d{12}:function:/.test(functionName)) return `arn:aws:lambda:${SANDBOX_REGION}:${functionName}`;
  return `arn:aws:lambda:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:function:${functionName}`;
}
