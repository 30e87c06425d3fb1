/**
 * The sandbox's Lambda API, driven by the real `@aws-sdk/client-lambda`
 * (and the real CLI when installed) against a started sandbox: `Event` queues
 * the run, `RequestResponse` answers the function's result or its error,
 * GetFunctionConfiguration shows a function's settings and environment,
 * and Lambda's exceptions come back as the SDK's classes.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetFunctionConfigurationCommand,
  InvalidRequestContentException,
  InvokeCommand,
  type InvokeCommandInput,
  LambdaClient,
  RequestTooLargeException,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../contract/env';
import type { Sandbox } from '../../sandbox/index';
import { functionArn, lambdaFunctionName } from '../../sandbox/lambda-host';
import { awsClis } from '../support/aws-cli';
import { eventually, startTestSandbox } from '../e2e/clients';

/**
 * The function invoked: getSession, which touches nothing for an event without a caller. Given no request
 * context at all it logs "Unhandled error" under the event's `X-Correlation-Id`, so a run shows in the logs.
 */
const FUNCTION = 'getSession';
const loggedEvent = (marker: string) => ({ headers: { 'x-correlation-id': marker } });
const ran = (marker: string) => sandbox.logs.some((line) => line.includes(marker));

/** Not the defaults, so the configuration shown is the one this sandbox was started with. */
const PRIORITY_WINDOW_SECONDS = 42;
const FLAG_CACHE_TTL_SECONDS = 7;

let sandbox: Sandbox;
let lambda: LambdaClient;
let functionName: string;

beforeAll(async () => {
  sandbox = await startTestSandbox({ seed: false, priorityWindowSeconds: PRIORITY_WINDOW_SECONDS, flagCacheTtlSeconds: FLAG_CACHE_TTL_SECONDS });
  lambda = client();
  functionName = lambdaFunctionName(sandbox.stage, FUNCTION);
});
afterAll(() => sandbox?.stop());
afterEach(() => fetch(`${sandbox.httpUrl}/dev/faults`, { method: 'DELETE' }));

function client(options: { maxAttempts?: number } = {}): LambdaClient {
  return new LambdaClient({ endpoint: sandbox.awsUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, ...options });
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const invoke = (input: InvokeCommandInput) => lambda.send(new InvokeCommand(input));
const marker = () => `lambda-api-test-${randomUUID()}`;

async function injectFault(fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${sandbox.httpUrl}/dev/faults`, { method: 'POST', body: JSON.stringify(fault) });
  expect(response.status).toBe(201);
}

describe('Invoke', () => {
  it('queues an Event invocation (202, empty payload) and the function then runs', async () => {
    // Arrange
    const event = marker();

    // Act
    const answer = await invoke({ FunctionName: functionName, InvocationType: 'Event', Payload: json(loggedEvent(event)) });

    // Assert
    expect(answer.StatusCode).toBe(202);
    expect(answer.FunctionError).toBeUndefined();
    expect(answer.Payload?.length ?? 0).toBe(0);
    await eventually(() => ran(event), 'the queued run');
  });

  it.each([
    ['a name', (stage: string) => lambdaFunctionName(stage, FUNCTION)],
    ['a qualified name', (stage: string) => `${lambdaFunctionName(stage, FUNCTION)}:$LATEST`],
    ['an ARN', (stage: string) => functionArn(stage, FUNCTION)],
    ['a partial ARN', (stage: string) => `000000000000:function:${lambdaFunctionName(stage, FUNCTION)}`],
  ])('runs a RequestResponse invocation of %s and answers its result', async (_form, nameOf) => {
    // Act: an HTTP API event without a caller
    const answer = await invoke({ FunctionName: nameOf(sandbox.stage), Payload: json({ requestContext: {} }) });

    // Assert
    expect(answer.StatusCode).toBe(200);
    expect(answer.FunctionError).toBeUndefined();
    expect(answer.ExecutedVersion).toBe('$LATEST');
    expect(JSON.parse(answer.Payload!.transformToString())).toMatchObject({ statusCode: 401 });
  });

  it("answers a failed run with FunctionError 'Unhandled' and the error as payload", async () => {
    // Arrange
    await injectFault({ service: 'lambda', operation: FUNCTION, error: 'Boom' });

    // Act
    const answer = await invoke({ FunctionName: functionName, Payload: json({}) });

    // Assert
    expect(answer.StatusCode).toBe(200);
    expect(answer.FunctionError).toBe('Unhandled');
    expect(JSON.parse(answer.Payload!.transformToString())).toEqual({ errorType: 'Boom', errorMessage: 'Injected fault: Boom' });
  });

  it('answers a DryRun with 204 and runs nothing', async () => {
    // Arrange
    const dryRun = marker();
    const after = marker();

    // Act
    const answer = await invoke({ FunctionName: functionName, InvocationType: 'DryRun', Payload: json(loggedEvent(dryRun)) });
    await invoke({ FunctionName: functionName, Payload: json(loggedEvent(after)) });

    // Assert: the run after it has logged, so a run of the dry one would show by now
    expect(answer.StatusCode).toBe(204);
    await eventually(() => ran(after), 'the run after the dry run');
    expect(ran(dryRun)).toBe(false);
  });

  it('refuses an unknown function with ResourceNotFoundException', async () => {
    // Act
    const error = await invoke({ FunctionName: 'no-such-function', Payload: json({}) }).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error).toMatchObject({
      name: 'ResourceNotFoundException',
      Type: 'User',
      message: 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('refuses a payload that is not JSON with InvalidRequestContentException', async () => {
    // Act
    const error = await invoke({ FunctionName: functionName, Payload: new TextEncoder().encode('{not json') }).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(InvalidRequestContentException);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 400 } });
  });

  it('refuses an Event payload over 1 MB with RequestTooLargeException', async () => {
    // Act
    const error = await invoke({ FunctionName: functionName, InvocationType: 'Event', Payload: json({ pad: 'x'.repeat(1024 * 1024) }) }).catch(
      (e: unknown) => e,
    );

    // Assert
    expect(error).toBeInstanceOf(RequestTooLargeException);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 413 } });
  });

  it('fails the Invoke call itself with a `lambda-api` fault, and the function does not run', async () => {
    // Arrange: one attempt, so the SDK does not retry the throttle away
    await injectFault({ service: 'lambda-api', operation: 'Invoke', error: 'TooManyRequestsException' });
    const refused = marker();
    const after = marker();

    // Act
    const error = await client({ maxAttempts: 1 })
      .send(new InvokeCommand({ FunctionName: functionName, Payload: json(loggedEvent(refused)) }))
      .catch((e: unknown) => e);
    await invoke({ FunctionName: functionName, Payload: json(loggedEvent(after)) });

    // Assert
    expect(error).toBeInstanceOf(TooManyRequestsException);
    expect(error).toMatchObject({ message: 'Injected fault: TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
    await eventually(() => ran(after), 'the run after the refused one');
    expect(ran(refused)).toBe(false);
  });
});

describe('GetFunctionConfiguration', () => {
  const configurationOf = (name: string) => lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));

  it("shows a function's settings from the manifest and the environment the sandbox gives it", async () => {
    // Act
    const configuration = await configurationOf(lambdaFunctionName(sandbox.stage, 'intakeStart'));

    // Assert
    expect(configuration).toMatchObject({
      FunctionName: lambdaFunctionName(sandbox.stage, 'intakeStart'),
      FunctionArn: functionArn(sandbox.stage, 'intakeStart'),
      Handler: 'index.handler',
      Timeout: 29,
      // It pushes: 1024 MB, as the stack configures it.
      MemorySize: 1024,
      Version: '$LATEST',
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Zip',
      $metadata: { httpStatusCode: 200 },
    });
    expect(configuration.Runtime).toMatch(/^nodejs\d+\.x$/);
    expect(configuration.CodeSize).toBeGreaterThan(0);
    expect(configuration.LastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    expect(configuration.Environment?.Variables).toMatchObject({
      [ENV.priorityWindowSeconds]: String(PRIORITY_WINDOW_SECONDS),
      [ENV.flagCacheTtlSeconds]: String(FLAG_CACHE_TTL_SECONDS),
      [ENV.tableName]: sandbox.tableName,
      [ENV.flagParameterName]: sandbox.flagParameterName,
    });
    // Lambda sets its reserved variables itself: they are not configuration.
    expect(configuration.Environment?.Variables).not.toHaveProperty('AWS_REGION');
  });

  it("gives each function the manifest's own timeout and memory, by name, qualified name or ARN", async () => {
    // Act
    const byName = await configurationOf(lambdaFunctionName(sandbox.stage, 'requestTimer'));
    const qualified = await configurationOf(`${lambdaFunctionName(sandbox.stage, 'requestTimer')}:$LATEST`);
    const byArn = await configurationOf(functionArn(sandbox.stage, 'requestTimer'));

    // Assert
    expect(byName).toMatchObject({ Timeout: 180, MemorySize: 256 });
    expect(qualified.FunctionArn).toBe(byName.FunctionArn);
    expect(byArn.FunctionArn).toBe(byName.FunctionArn);
  });

  it('refuses an unknown function with ResourceNotFoundException (404)', async () => {
    // Act
    const error = await configurationOf('no-such-function').catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error).toMatchObject({
      message: 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function',
      $metadata: { httpStatusCode: 404 },
    });
  });
});

const clis = awsClis();

describe('with the real AWS CLI', () => {
  it.skipIf(clis.length === 0)('invokes with `aws lambda invoke`, Event and RequestResponse (every installed CLI)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lambda-cli-'));
    try {
      for (const cli of clis) {
        // Arrange: fileb:// passes the bytes as they are, in CLI v1 and v2 alike
        const event = marker();
        writeFileSync(join(dir, 'event.json'), JSON.stringify(loggedEvent(event)));
        writeFileSync(join(dir, 'sync.json'), JSON.stringify({ requestContext: {} }));
        const invokeWith = (payload: string, ...more: string[]) =>
          cli.run(sandbox.awsUrl, ['lambda', 'invoke', '--function-name', functionName, '--payload', `fileb://${join(dir, payload)}`, ...more]);

        // Act
        const queued = await invokeWith('event.json', '--invocation-type', 'Event', join(dir, 'event-out.json'));
        const answered = await invokeWith('sync.json', join(dir, 'sync-out.json'));

        // Assert
        expect(queued.code, `${cli.label}: ${queued.stderr}`).toBe(0);
        expect(JSON.parse(queued.stdout), cli.label).toEqual({ StatusCode: 202 });
        await eventually(() => ran(event), `${cli.label}: the queued run`);
        expect(answered.code, `${cli.label}: ${answered.stderr}`).toBe(0);
        expect(JSON.parse(answered.stdout), cli.label).toEqual({ StatusCode: 200, ExecutedVersion: '$LATEST' });
        expect(JSON.parse(readFileSync(join(dir, 'sync-out.json'), 'utf8')), cli.label).toMatchObject({ statusCode: 401 });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(clis.length === 0)('shows the priority window with `aws lambda get-function-configuration` (every installed CLI)', async () => {
    for (const cli of clis) {
      // Act
      const shown = await cli.run(sandbox.awsUrl, [
        'lambda',
        'get-function-configuration',
        '--function-name',
        lambdaFunctionName(sandbox.stage, 'intakeStart'),
      ]);
      const unknown = await cli.run(sandbox.awsUrl, ['lambda', 'get-function-configuration', '--function-name', 'no-such-function']);

      // Assert
      expect(shown.code, `${cli.label}: ${shown.stderr}`).toBe(0);
      expect(JSON.parse(shown.stdout).Environment.Variables[ENV.priorityWindowSeconds], cli.label).toBe(String(PRIORITY_WINDOW_SECONDS));
      expect(unknown.code, cli.label).not.toBe(0);
      expect(unknown.stderr, cli.label).toContain('ResourceNotFoundException');
    }
  });
});
