/**
 * How the ops view's AWS SDK clients reach AWS, the way the AWS CLI does: signing with SigV4 against the AWS
 * endpoint (the sandbox's, from ConsoleConfig.aws), which answers browsers' CORS as AWS's endpoints do.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config } from './api';
import type { ServerClock } from './clock';

/** The sandbox's operator key (README "Operate the sandbox"): it takes any. Against AWS the operator would sign in instead. */
const SANDBOX_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export const awsClientConfig = { endpoint: config.aws.endpoint, region: config.aws.region, credentials: SANDBOX_CREDENTIALS };

/** DynamoDB with items as plain objects; with a clock, each answer's `Date` header tells it the server's time. */
export function tableClient(clock?: ServerClock): DynamoDBDocumentClient {
  const client = new DynamoDBClient(awsClientConfig);
  if (clock)
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        clock.observeHttpDate((result.response as { headers?: Record<string, string> }).headers?.date, Date.now());
        return result;
      },
      { step: 'initialize', name: 'serverClock' },
    );
  return DynamoDBDocumentClient.from(client);
}
