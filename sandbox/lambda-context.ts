/** What the Lambda runtime passes a handler as `context` (aws-lambda's Context), for a 256 MB function. */
import { randomUUID } from 'node:crypto';

export interface LambdaContextOf {
  functionName: string;
  functionArn: string;
  /** The function's timeout, for `getRemainingTimeInMillis`. @default 29 s */
  timeoutMs?: number;
  /** @default a new UUID, as each invocation gets */
  awsRequestId?: string;
}

export function lambdaContext({ functionName, functionArn, timeoutMs = 29_000, awsRequestId = randomUUID() }: LambdaContextOf) {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'sandbox',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
