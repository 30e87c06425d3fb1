/** The ops CLI's pure parts: the command line, target resolution from a stack's outputs, the text output. */
import { describe, expect, it } from 'vitest';
import { parseOpsArgs } from '../../ops/args';
import { fromSandbox, fromSqs } from '../../ops/dead-letters';
import { OpsError, UsageError } from '../../ops/errors';
import { table } from '../../ops/format';
import { advance, jsonLine, LATE_EVENT_MS, logEventLine } from '../../ops/tail';
import { isMissingStack, need, outputsOf, sandboxTarget, stageTarget } from '../../ops/target';

const NO_ENV = {};

describe('parseOpsArgs', () => {
  it.each([
    [['flag', 'on'], { name: 'flag set', on: true }],
    [['flag', 'off'], { name: 'flag set', on: false }],
    [['flag', 'status'], { name: 'flag status' }],
    [['mechanics', 'put', 'mech-1', '--status', 'suspended'], { name: 'mechanics put', id: 'mech-1', status: 'suspended' }],
    [['requests', 'list', '--state', 'open', '--audience', 'mechanic#m1'], { name: 'requests list', state: 'open', audience: 'mechanic#m1' }],
    [['requests', 'show', 'req-abc'], { name: 'requests show', id: 'req-abc' }],
    [['dead-letters', 'replay', 'a', 'b'], { name: 'dead-letters replay', ids: ['a', 'b'], all: false }],
    [['dead-letters', 'replay', '--all'], { name: 'dead-letters replay', ids: [], all: true }],
    [['tail', '--from-start'], { name: 'tail', fromStart: true }],
    [[], { name: 'help' }],
    [['--help'], { name: 'help' }],
  ])('%j', (args, command) => {
    expect(parseOpsArgs(args, NO_ENV).command).toMatchObject(command);
  });

  it.each([
    [['flag', 'maybe'], 'unknown command "flag maybe"'],
    [['flag', 'on', 'now'], 'unexpected argument "now"'],
    [['mechanics', 'put', 'm', '--status', 'fired'], '--status must be one of approved, pending, suspended'],
    [['requests', 'list', '--audience', 'mechanics'], '--audience must be everyone, mechanic#<id> or workshop#<id>'],
    [['requests', 'list', '--audience', 'everyone', '--customer', 'c'], 'give one'],
    [['requests', 'show'], 'needs a session id or request id'],
    [['dead-letters', 'replay', 'a', '--all'], 'not both'],
    [['tail', '--all'], '--all does not apply to "tail"'],
    [['flag', 'status', '--region'], "Option '--region <value>' argument missing"],
  ])('%j is a usage error', (args, message) => {
    expect(() => parseOpsArgs(args, NO_ENV)).toThrow(UsageError);
    expect(() => parseOpsArgs(args, NO_ENV)).toThrow(message);
  });

  it('takes the region and the admin token from the environment unless given', () => {
    const env = { AWS_DEFAULT_REGION: 'eu-west-1', PRIORITY_DISPATCH_ADMIN_TOKEN: 'jwt' };
    expect(parseOpsArgs(['flag', 'status', '--stage', 'prod', '--json'], env)).toMatchObject({
      json: true,
      target: { stage: 'prod', region: 'eu-west-1', adminToken: 'jwt' },
    });
    expect(parseOpsArgs(['flag', 'status', '--region', 'us-west-2'], env).target.region).toBe('us-west-2');
  });
});

describe('target resolution', () => {
  const cdkOutputs = {
    'PriorityDispatch-prod': {
      HttpApiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
      FlagParameterName: '/priority-dispatch/prod/ENABLE_FAVORITES_PRIORITY',
      TableName: 'PriorityDispatch-prod-DataTable-XYZ',
      DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
    },
  };

  it('the sandbox by default: its endpoints, stage local, the operator key', () => {
    expect(sandboxTarget({})).toMatchObject({
      mode: 'sandbox',
      stage: 'local',
      endpoint: 'http://127.0.0.1:4566',
      httpUrl: 'http://127.0.0.1:3000',
      tableName: 'priority-dispatch-local',
      flagParameterName: '/priority-dispatch/local/ENABLE_FAVORITES_PRIORITY',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    expect(sandboxTarget({ endpointUrl: 'http://127.0.0.1:1', httpUrl: 'http://127.0.0.1:2/' })).toMatchObject({
      endpoint: 'http://127.0.0.1:1',
      httpUrl: 'http://127.0.0.1:2',
    });
  });

  it('a stage: cdk --outputs-file and describe-stacks JSON give the same target, with the default credential chain', () => {
    const described = {
      Stacks: [
        {
          StackName: 'PriorityDispatch-prod',
          Outputs: Object.entries(cdkOutputs['PriorityDispatch-prod']).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    };
    const fromCdk = stageTarget({ stage: 'prod', region: 'eu-west-1' }, outputsOf(cdkOutputs, 'prod'));
    const fromCloudFormation = stageTarget({ stage: 'prod', region: 'eu-west-1' }, outputsOf(described, 'prod'));

    expect(fromCdk).toMatchObject({
      mode: 'aws',
      region: 'eu-west-1',
      httpUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
      tableName: 'PriorityDispatch-prod-DataTable-XYZ',
      deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
    });
    expect([fromCdk.endpoint, fromCdk.credentials], "AWS's endpoints, the SDK's default credential chain").toEqual([undefined, undefined]);
    expect(fromCdk.functionName('requestTimer')).toBe('priority-dispatch-prod-requestTimer');
    expect({ ...fromCloudFormation, functionName: undefined }).toEqual({ ...fromCdk, functionName: undefined });
  });

  it('a stage without outputs still knows its flag; a command needing an output names it', () => {
    const target = stageTarget({ stage: 'prod', region: 'eu-west-1' });
    expect(target.flagParameterName).toBe('/priority-dispatch/prod/ENABLE_FAVORITES_PRIORITY');
    expect(() => need(target, 'tableName')).toThrow(OpsError);
    expect(() => need(target, 'tableName')).toThrow("the stack's outputs lack TableName");
  });

  it("a stage without --outputs: DescribeStacks's answer, as the SDK gives it, is the target", () => {
    // The shape of https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
    // (its example's StackId, dates and status), as DescribeStacksCommand parses it, with this stack's outputs.
    const described = {
      $metadata: { httpStatusCode: 200, requestId: 'b9b4b068-3a41-11e5-94eb-example' },
      Stacks: [
        {
          StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/PriorityDispatch-prod/aaf549a0-a413-11df-adb3-5081b3858e83',
          StackName: 'PriorityDispatch-prod',
          CreationTime: new Date('2010-07-27T22:28:28Z'),
          StackStatus: 'UPDATE_COMPLETE',
          DisableRollback: false,
          Outputs: [
            { OutputKey: 'HttpApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/', Description: 'Customer and admin HTTP API' },
            {
              OutputKey: 'DeadLetterQueueUrl',
              OutputValue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
              Description: 'Undeliverable timer and fan-out events',
            },
            { OutputKey: 'TableName', OutputValue: 'PriorityDispatch-prod-DataTable-XYZ' },
          ],
          Tags: [],
        },
      ],
    };
    expect(stageTarget({ stage: 'prod', region: 'eu-west-1' }, outputsOf(described, 'prod'))).toMatchObject({
      httpUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
      tableName: 'PriorityDispatch-prod-DataTable-XYZ',
      deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
    });
  });

  it("a missing stack is DescribeStacks's ValidationError saying so, not any ValidationError", () => {
    const error = (name: string, message: string) => Object.assign(new Error(message), { name });
    expect(isMissingStack(error('ValidationError', 'Stack with id PriorityDispatch-prod does not exist'))).toBe(true);
    expect(isMissingStack(error('ValidationError', '1 validation error detected: Value at stackName failed to satisfy constraint'))).toBe(false);
    expect(isMissingStack(error('ExpiredToken', 'The security token included in the request is expired'))).toBe(false);
  });

  it('a stage needs a region; an outputs file of another stack is refused', () => {
    expect(() => stageTarget({ stage: 'prod' })).toThrow(UsageError);
    expect(() => outputsOf(cdkOutputs, 'staging')).toThrow('no entry for the stack PriorityDispatch-staging');
  });
});

describe('output', () => {
  it('table pads columns and shows an absent value as -', () => {
    expect(
      table(
        ['A', 'LONGER'],
        [
          ['xyz', null],
          ['q', 'v'],
        ],
      ),
    ).toBe('A    LONGER\nxyz  -\nq    v');
  });

  it('a Lambda on-failure record and a Scheduler dead letter read the same way', () => {
    expect(
      fromSandbox({
        message_id: 'm1',
        at: 't',
        record: {
          requestContext: { functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:priority-dispatch-local-fanOut:$LATEST' },
          requestPayload: { a: 1 },
          responsePayload: { errorType: 'Boom', errorMessage: 'it broke' },
        },
      }),
    ).toEqual({
      id: 'm1',
      at: 't',
      kind: 'lambda',
      function_arn: 'arn:aws:lambda:us-east-1:000000000000:function:priority-dispatch-local-fanOut',
      event: { a: 1 },
      error: 'Boom: it broke',
    });
    expect(fromSandbox({ message_id: 'm2', at: 't', target_arn: 'arn:x', input: '{"request_id":"req-1"}', error: 'gone' })).toMatchObject({
      kind: 'scheduler',
      event: { request_id: 'req-1' },
    });
  });

  it("SQS: Lambda's on-failure record reads as a dead letter of its function, with the event it failed on", () => {
    // The example invocation record of https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    // (a crash: responsePayload has an errorMessage and no errorType), with our fan-out's name and event,
    // in a ReceiveMessage answer (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
    const record = {
      version: '1.0',
      timestamp: '2019-11-14T18:16:05.568Z',
      requestContext: {
        requestId: 'e4b46cbf-b738-xmpl-8880-a18cdf61200e',
        functionArn: 'arn:aws:lambda:us-east-2:123456789012:function:priority-dispatch-prod-fanOut:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: { kind: 'new_request', request_id: 'req-1' },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorMessage: 'RequestId: e4b46cbf-b738-xmpl-8880-a18cdf61200e Process exited before completing request' },
    };
    const message = {
      MessageId: '5fea7756-0ea4-451a-a703-a558b933e274',
      ReceiptHandle: 'MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw',
      MD5OfBody: 'fafb00f5732ab283681e124bf8747ed1',
      Body: JSON.stringify(record),
      Attributes: { SentTimestamp: '1573755365568' },
    };

    expect(fromSqs(message)).toEqual({
      id: '5fea7756-0ea4-451a-a703-a558b933e274',
      at: '2019-11-14T18:16:05.568Z',
      kind: 'lambda',
      function_arn: 'arn:aws:lambda:us-east-2:123456789012:function:priority-dispatch-prod-fanOut',
      event: { kind: 'new_request', request_id: 'req-1' },
      error: 'RequestId: e4b46cbf-b738-xmpl-8880-a18cdf61200e Process exited before completing request',
    });
    const expired = { ...record, requestContext: { ...record.requestContext, condition: 'EventAgeExceeded' }, responsePayload: undefined };
    expect(fromSqs({ ...message, Body: JSON.stringify(expired) }).error, 'an event that expired unrun').toBe('EventAgeExceeded');
  });

  it("SQS: Scheduler's dead letter reads as the timer's, its body the schedule's input, its attributes the error", () => {
    // The message attributes https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
    // lists for a dead-letter event ("Retrieve the dead-letter event"), for one of our timer schedules.
    const attribute = (StringValue: string) => ({ StringValue, DataType: 'String' });
    const message = {
      MessageId: 'e3b4b0a1-9c7d-4a8e-8f6b-2f1d7c0e5a11',
      Body: '{"request_id":"req-1","due_at":"2026-11-28T10:40:04.326Z"}',
      Attributes: { SentTimestamp: '1795862404326' },
      MessageAttributes: {
        ERROR_CODE: attribute('Lambda.TooManyRequestsException'),
        ERROR_MESSAGE: attribute('Rate Exceeded.'),
        EXECUTION_ID: attribute('3a9c6d5e-2b1f-4c8a-9e7d-6f5a4b3c2d1e'),
        EXHAUSTED_RETRY_CONDITION: attribute('MaximumRetryAttempts'),
        IS_PAYLOAD_TRUNCATED: attribute('false'),
        RETRY_ATTEMPTS: attribute('10'),
        SCHEDULED_TIME: attribute('2026-11-28T10:39:00Z'),
        SCHEDULE_ARN: attribute('arn:aws:scheduler:eu-west-1:123456789012:schedule/priority-dispatch-prod/timer-req-1'),
        TARGET_ARN: attribute('arn:aws:lambda:eu-west-1:123456789012:function:priority-dispatch-prod-requestTimer'),
      },
    };

    expect(fromSqs(message)).toEqual({
      id: 'e3b4b0a1-9c7d-4a8e-8f6b-2f1d7c0e5a11',
      at: '2026-11-28T10:40:04.326Z',
      kind: 'scheduler',
      function_arn: 'arn:aws:lambda:eu-west-1:123456789012:function:priority-dispatch-prod-requestTimer',
      event: { request_id: 'req-1', due_at: '2026-11-28T10:40:04.326Z' },
      error: 'Lambda.TooManyRequestsException: Rate Exceeded. (schedule timer-req-1)',
    });
  });

  it('SQS: a message from neither sender is refused by name, not replayed blindly', () => {
    expect(() => fromSqs({ MessageId: 'm9', Body: '{"hello":1}', Attributes: { SentTimestamp: '0' } })).toThrow(
      expect.objectContaining({ code: 'unknown_dead_letter', message: expect.stringContaining('message m9') }),
    );
  });

  // FilterLogEvents answers events in the shape of https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
  // (its example's eventId and times); the message is a real Powertools line from a handler (README "Log format"),
  // with the newline Lambda keeps.
  const powertoolsLine =
    '{"level":"WARN","message":"[Priority] Favorite cannot take priority, broadcasting now","timestamp":"2014-03-28T19:36:18.988Z","service":"priority-dispatch","cold_start":false,"function_arn":"arn:aws:lambda:eu-west-1:123456789012:function:PriorityDispatch-prod-IntakeStartFunction-AbC","function_memory_size":"256","function_name":"PriorityDispatch-prod-IntakeStartFunction-AbC","function_request_id":"2e70f5e7-89d3-4a99-a726-7752c2a3ca03","sampling_rate":0,"correlation_id":"f7fb5c76","request_id":"req-1","mechanic_id":"mech-alice","why":"mechanic_offline"}';
  const logEvent = (eventId: string, timestamp: number, message = `${powertoolsLine}\n`) => ({
    logStreamName: '2014/03/28/[$LATEST]7f8a2b3c4d5e6f708192a3b4c5d6e7f8',
    timestamp,
    message,
    ingestionTime: timestamp + 16009,
    eventId,
  });

  it("tail against a stage: a CloudWatch Logs event prints as the sandbox's line for it, and as the handler's JSON with --json", () => {
    const event = logEvent('31132629274945519779805322857203735586714454643391594505', 1396035378988);

    expect(logEventLine(event.message, 'PriorityDispatch-prod-IntakeStartLogs-XyZ', false)).toBe(
      '19:36:18.988 WARN [Priority] Favorite cannot take priority, broadcasting now  request_id=req-1 mechanic_id=mech-alice why=mechanic_offline correlation_id=f7fb5c76',
    );
    expect(logEventLine(event.message, 'PriorityDispatch-prod-IntakeStartLogs-XyZ', true)).toBe(powertoolsLine);
    expect(JSON.parse(logEventLine('REPORT RequestId: 2e70f5e7 Duration: 12.3 ms\n', 'PriorityDispatch-prod-IntakeStartLogs-XyZ', true))).toEqual({
      source: 'PriorityDispatch-prod-IntakeStartLogs-XyZ',
      message: 'REPORT RequestId: 2e70f5e7 Duration: 12.3 ms',
    });
  });

  it('tail against a stage: each event prints once, a late one still prints, the cursor stays LATE_EVENT_MS behind', () => {
    const t = 1396035378988;
    const first = advance({ startTime: t - 60_000, printed: new Map() }, [logEvent('a', t), logEvent('b', t)]);
    expect(first.fresh.map((e) => e.eventId)).toEqual(['a', 'b']);
    expect(first.cursor.startTime).toBe(t - LATE_EVENT_MS);

    // The next call starts inclusive and behind: a and b come again, c is new, d was ingested late but is newer than the cursor.
    const second = advance(first.cursor, [logEvent('d', t - 3_000), logEvent('a', t), logEvent('b', t), logEvent('c', t + 20_000)]);
    expect(second.fresh.map((e) => e.eventId)).toEqual(['d', 'c']);
    expect(second.cursor.startTime).toBe(t + 20_000 - LATE_EVENT_MS);
    expect([...second.cursor.printed.keys()], 'what the cursor no longer reaches is forgotten').toEqual(['c']);

    expect(advance(second.cursor, []).cursor, 'a quiet group keeps its cursor').toEqual(second.cursor);
  });

  it('tail --json prints every line as JSON: a handler line as-is, a sandbox line wrapped', () => {
    expect(jsonLine('{"level":"INFO"}')).toBe('{"level":"INFO"}');
    expect(JSON.parse(jsonLine('12:00:00.000 [sandbox] hello'))).toEqual({ source: 'sandbox', message: '12:00:00.000 [sandbox] hello' });
  });
});
