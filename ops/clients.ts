/** The AWS SDK clients and the HTTP API calls a command needs, built from its target (once each, when first asked). */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { OpsError } from './errors';
import { need, type Target } from './target';

export interface Clients {
  ssm(): SSMClient;
  db(): DynamoDBDocumentClient;
  lambda(): LambdaClient;
  /** The rest reach AWS only: the sandbox has no SQS, CloudWatch Logs or CloudFormation. */
  sqs(): SQSClient;
  logs(): CloudWatchLogsClient;
  cloudFormation(): CloudFormationClient;
}

export function clientsFor(target: Pick<Target, 'region' | 'endpoint' | 'credentials'>): Clients {
  const config = { region: target.region, endpoint: target.endpoint, credentials: target.credentials };
  const once = <T>(make: () => T): (() => T) => {
    let made: T | undefined;
    return () => (made ??= make());
  };
  return {
    ssm: once(() => new SSMClient(config)),
    db: once(() => DynamoDBDocumentClient.from(new DynamoDBClient(config))),
    lambda: once(() => new LambdaClient(config)),
    sqs: once(() => new SQSClient(config)),
    logs: once(() => new CloudWatchLogsClient(config)),
    cloudFormation: once(() => new CloudFormationClient(config)),
  };
}

/** One call to the target's HTTP API (or the sandbox's dev routes); an answer other than 2xx fails with its error. */
export async function callApi<T>(target: Target, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<T> {
  const url = `${need(target, 'httpUrl')}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (error) {
    const why = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new OpsError('unreachable', `${method} ${url} failed (${why}); is the sandbox running (npm start), or is --http-url right?`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string }; message?: string } | undefined) ?? {};
    throw new OpsError(
      error.error?.code ?? `http_${response.status}`,
      `${method} ${path} answered ${response.status}: ${error.error?.message ?? error.message ?? text}`,
    );
  }
  return body as T;
}
