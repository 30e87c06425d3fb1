/**
 * The synthesized template, resource by resource: what DESIGN §2 promises,
 * derived from the manifest (contract/routes.ts) and the schema (contract/table-schema.ts)
 * so a new route or index is checked without touching this file.
 */
import { readFileSync } from 'node:fs';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../contract/env';
import { flagParameterName, scheduleGroupName, stackName } from '../../contract/naming';
import { PLACEHOLDER_JWT_ISSUER, PriorityDispatchStack } from '../../lib/priority-dispatch-stack';
import {
  type FunctionName,
  type FunctionSpec,
  WEBSOCKET_ROUTE_SELECTION,
  asyncTargets,
  functions as manifest,
  httpRoutes,
  isAsyncTarget,
  messageFunctions,
  webSocketAuthorizer,
  webSocketRoutes,
} from '../../contract/routes';
import { ADMIN_SCOPE } from '../../contract/scopes';
import { projectionOf, tableSchema } from '../../contract/table-schema';
import { TEST_ISSUER, buildApp, buildStack, logicalId, sorted } from './synth-helpers';

const { stack, template } = buildStack({ stage: 'dev', jwtAudience: 'test-audience' });
const names = Object.keys(manifest) as FunctionName[];
const resource = (id: string) => template.toJSON().Resources[id] as { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
const fnResource = (name: FunctionName) => resource(logicalId(stack.functions[name].function));
const getAttArn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
/** A function ARN built from its fixed name, as a function that names itself must. */
const literalFunctionArn = (functionName: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':lambda:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:function:${functionName}`]],
});
const envOf = (t: Template, s: PriorityDispatchStack, name: FunctionName) =>
  t.toJSON().Resources[logicalId(s.functions[name].function)].Properties.Environment.Variables as Record<string, unknown>;
const timerSetters = names.filter((name) => (manifest[name] as FunctionSpec).setsTimers);

describe('table', () => {
  it('is one on-demand GlobalTable with PITR, TTL and the schema keys', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: tableSchema.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: tableSchema.sortKey.name, KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: tableSchema.timeToLiveAttribute, Enabled: true },
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
    });
  });

  it('has every GSI of the schema, each with its projection', () => {
    const table = resource(logicalId(stack.data.table));
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(
      tableSchema.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: projectionOf(index),
      })),
    );
    expect(table.Properties.GlobalSecondaryIndexes).toHaveLength(5);
    // The sparse request indexes copy a few fields, never a booking's audit trail.
    expect(
      table.Properties.GlobalSecondaryIndexes.filter((i: { Projection: { ProjectionType: string } }) => i.Projection.ProjectionType === 'INCLUDE'),
    ).toHaveLength(2);
  });

  it('is destroyed with a dev stack (no deletion protection there)', () => {
    const table = resource(logicalId(stack.data.table));
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
  });
});

describe('feature flag', () => {
  it('is a String parameter named for the stage, "false" on first deploy, described for ops', () => {
    template.resourceCountIs('AWS::SSM::Parameter', 1);
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Type: 'String',
      Name: flagParameterName('dev'),
      Value: 'false',
      Description: Match.stringLikeRegexp('"true" or "false".*without a redeploy'),
    });
  });
});

describe('request timers', () => {
  it('has the schedule group named for the stage (and creates no schedules itself)', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: scheduleGroupName('dev') });
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('has an encrypted, TLS-only DLQ keeping messages 14 days', () => {
    const queueId = logicalId(stack.timers.deadLetterQueue);
    expect(resource(queueId).Properties).toEqual({ MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: [Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      },
    });
  });

  it('alarms on one visible DLQ message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('^A timer or fan-out event could not be delivered'),
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAttArnQueueName(logicalId(stack.timers.deadLetterQueue)) }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('the schedules have one target, the timer function: the only function the scheduler role may invoke', () => {
    const roleId = logicalId(stack.timers.role);
    const invokes = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement) => [statement.Action].flat().includes('lambda:InvokeFunction'));
    expect(invokes.map((statement) => statement.Resource)).toEqual([getAttArn(logicalId(stack.functions.requestTimer.function))]);
    expect(stack.timers.target).toBe(stack.functions[asyncTargets.timer].function);
  });

  it.each(Object.values(asyncTargets))('sends %s’s failed async invocations to the DLQ after 2 retries', (target) => {
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).filter(
      (config) => config.Properties.FunctionName.Ref === logicalId(stack.functions[target].function),
    );
    expect(configs.map((config) => config.Properties)).toEqual([
      {
        FunctionName: { Ref: logicalId(stack.functions[target].function) },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: getAttArn(logicalId(stack.timers.deadLetterQueue)) } },
      },
    ]);
  });

  it('configures async invocation for the async targets only', () => {
    const configured = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).map((config) => config.Properties.FunctionName.Ref);
    expect(sorted(configured)).toEqual(sorted(Object.values(asyncTargets).map((name) => logicalId(stack.functions[name].function))));
  });
});

describe('functions', () => {
  it('one function per manifest entry', () => {
    template.resourceCountIs('AWS::Lambda::Function', names.length);
  });

  it.each(names)('%s: nodejs24.x on arm64, index.handler, own log group kept one month', (name) => {
    const fn = fnResource(name);
    const logGroupId = logicalId(stack.functions[name].logGroup);
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Description: manifest[name].description,
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
      Role: getAttArn(logicalId(stack.functions[name].role)),
      Timeout: (manifest[name] as FunctionSpec).timeoutSeconds ?? 29,
      MemorySize: (manifest[name] as FunctionSpec).memoryMb ?? ((manifest[name] as FunctionSpec).pushes ? 1024 : 256),
    });
    expect(resource(logGroupId).Properties).toEqual({ RetentionInDays: 30 });
    expect(resource(logGroupId).DeletionPolicy).toBe('Delete');
  });

  it('timeouts: the async targets run longer than API Gateway’s 29 s, as the manifest says', () => {
    const timeouts = Object.fromEntries(names.map((name) => [name, fnResource(name).Properties.Timeout]));
    expect(timeouts).toEqual({ ...Object.fromEntries(names.map((name) => [name, 29])), requestTimer: 180, fanOut: 120 });
  });

  it('only the async targets have fixed names (the sandbox’s), because they name themselves', () => {
    const fixed = Object.fromEntries(
      names.flatMap((name) => (fnResource(name).Properties.FunctionName ? [[name, fnResource(name).Properties.FunctionName]] : [])),
    );
    expect(fixed).toEqual({ requestTimer: 'priority-dispatch-dev-requestTimer', fanOut: 'priority-dispatch-dev-fanOut' });
    expect(Object.keys(fixed).every((name) => isAsyncTarget(name as FunctionName))).toBe(true);
    // The longest stage (31 characters) still gives a valid Lambda name (at most 64).
    const { stack: long } = buildStack({ stage: 'a'.repeat(31) });
    for (const name of Object.values(asyncTargets)) expect(long.functions[name].physicalName!.length).toBeLessThanOrEqual(64);
  });

  it.each(names)('%s: exactly the environment its manifest flags need', (name) => {
    const spec = manifest[name] as FunctionSpec;
    // No NODE_OPTIONS: source maps are shipped but not loaded (lib/constructs/node-function.ts).
    const expected = new Set<string>([ENV.logLevel]);
    if (spec.table) expected.add(ENV.tableName);
    if (spec.readsFlag) for (const n of [ENV.flagParameterName, ENV.flagCacheTtlSeconds]) expected.add(n);
    if (spec.pushes) expected.add(ENV.connectionsEndpoint);
    if (spec.setsTimers) {
      for (const n of [
        ENV.scheduleGroupName,
        ENV.timerFunctionArn,
        ENV.schedulerRoleArn,
        ENV.deadLetterQueueArn,
        ENV.priorityWindowSeconds,
        ENV.recoveryDelaySeconds,
        ENV.requestTtlSeconds,
      ])
        expected.add(n);
    }
    if (spec.clearsTimers || spec.readsTimers) expected.add(ENV.scheduleGroupName);
    if (spec.fansOut) expected.add(ENV.fanOutFunctionName);
    if (spec.verifiesJwt) for (const n of [ENV.jwtIssuer, ENV.jwtAudience]) expected.add(n);
    if (messageFunctions.includes(name)) expected.add(ENV.messageRateLimit);
    if (spec.limitsOpenBookings) expected.add(ENV.maxOpenBookingsPerCustomer);
    const env = fnResource(name).Properties.Environment.Variables as Record<string, unknown>;
    expect(sorted(Object.keys(env))).toEqual(sorted(expected));
  });

  it('environment values point at the right resources', () => {
    const env = fnResource('intakeStart').Properties.Environment.Variables;
    expect(env).toEqual({
      [ENV.logLevel]: 'INFO',
      [ENV.tableName]: { Ref: logicalId(stack.data.table) },
      [ENV.flagParameterName]: { Ref: logicalId(stack.flag.parameter) },
      [ENV.flagCacheTtlSeconds]: '10',
      [ENV.connectionsEndpoint]: {
        'Fn::Join': [
          '',
          ['https://', { Ref: logicalId(stack.apis.webSocketApi) }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/dev'],
        ],
      },
      [ENV.scheduleGroupName]: scheduleGroupName('dev'),
      [ENV.timerFunctionArn]: getAttArn(logicalId(stack.functions[asyncTargets.timer].function)),
      [ENV.schedulerRoleArn]: getAttArn(logicalId(stack.timers.role)),
      [ENV.deadLetterQueueArn]: getAttArn(logicalId(stack.timers.deadLetterQueue)),
      [ENV.priorityWindowSeconds]: '600',
      [ENV.recoveryDelaySeconds]: '120',
      [ENV.requestTtlSeconds]: '1800',
      [ENV.fanOutFunctionName]: { Ref: logicalId(stack.functions[asyncTargets.fanOut].function) },
      [ENV.maxOpenBookingsPerCustomer]: '3',
    });
    expect(fnResource('wsAuthorizer').Properties.Environment.Variables).toMatchObject({
      [ENV.jwtIssuer]: TEST_ISSUER,
      [ENV.jwtAudience]: 'test-audience',
    });
  });

  it('the timer sets its own timer and the fan-out invokes itself: by their fixed names, not a reference to themselves', () => {
    expect(fnResource('requestTimer').Properties.Environment.Variables).toMatchObject({
      [ENV.timerFunctionArn]: literalFunctionArn('priority-dispatch-dev-requestTimer'),
      [ENV.fanOutFunctionName]: { Ref: logicalId(stack.functions.fanOut.function) },
    });
    expect(fnResource('fanOut').Properties.Environment.Variables[ENV.fanOutFunctionName]).toBe('priority-dispatch-dev-fanOut');
  });

  it.each(names.filter((name) => (manifest[name] as FunctionSpec).fansOut && name !== asyncTargets.fanOut))(
    '%s hands fan-outs to the fan-out function',
    (name) => {
      expect(envOf(template, stack, name)[ENV.fanOutFunctionName]).toEqual({ Ref: logicalId(stack.functions[asyncTargets.fanOut].function) });
    },
  );
});

describe('HTTP API', () => {
  const httpApiId = logicalId(stack.apis.httpApi);
  const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).filter((r) => r.Properties.ApiId.Ref === httpApiId);

  it('has a JWT authorizer for the configured issuer and audience', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      ApiId: { Ref: httpApiId },
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: TEST_ISSUER, Audience: ['test-audience'] },
    });
  });

  it('has exactly the manifest routes', () => {
    expect(sorted(routes.map((r) => r.Properties.RouteKey))).toEqual(sorted(httpRoutes.map((r) => `${r.method} ${r.path}`)));
  });

  it.each(httpRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: JWT-authorized, to its function', (routeKey, route) => {
    const found = routes.find((r) => r.Properties.RouteKey === routeKey)!;
    expect(found.Properties.AuthorizationType).toBe('JWT');
    expect(found.Properties.AuthorizerId).toEqual({ Ref: expect.stringMatching(/JwtAuthorizer/) });
    if (route.auth === 'admin') expect(found.Properties.AuthorizationScopes).toEqual([ADMIN_SCOPE]);
    else expect(found.Properties.AuthorizationScopes).toBeUndefined();
    expect(integrationTarget(found.Properties.Target)).toEqual(getAttArn(logicalId(stack.functions[route.function].function)));
  });

  it('the admin route carries the admin scope', () => {
    const admin = routes.find((r) => r.Properties.RouteKey === 'PUT /mechanics/{id}')!;
    expect(admin.Properties.AuthorizationScopes).toEqual(['admin']);
  });

  it('logs access on the auto-deployed $default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: httpApiId },
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context\\.requestId') },
    });
  });
});

describe('WebSocket API', () => {
  const wsApiId = logicalId(stack.apis.webSocketApi);
  const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).filter((r) => r.Properties.ApiId.Ref === wsApiId);

  it('selects routes on the action field', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: WEBSOCKET_ROUTE_SELECTION,
    });
  });

  it('has a REQUEST authorizer with no identity source (called on every handshake: ?ticket= or ?token=), run by the authorizer function', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      ApiId: { Ref: wsApiId },
      AuthorizerType: 'REQUEST',
      IdentitySource: Match.absent(),
      AuthorizerUri: {
        'Fn::Join': ['', Match.arrayWith([getAttArn(logicalId(stack.functions[webSocketAuthorizer.function].function))])],
      },
    });
  });

  it('has exactly the manifest routes', () => {
    expect(sorted(routes.map((r) => r.Properties.RouteKey))).toEqual(sorted(webSocketRoutes.map((r) => r.routeKey)));
  });

  it.each(webSocketRoutes.map((r) => [r.routeKey, r] as const))('%s: to its function, authorized only on $connect', (routeKey, route) => {
    const found = routes.find((r) => r.Properties.RouteKey === routeKey)!;
    if (routeKey === '$connect') {
      expect(found.Properties.AuthorizationType).toBe('CUSTOM');
      expect(found.Properties.AuthorizerId).toEqual({ Ref: expect.stringMatching(/ConnectAuthorizer/) });
    } else {
      expect(found.Properties.AuthorizationType).toBe('NONE');
    }
    expect(integrationTarget(found.Properties.Target)).toEqual(getAttArn(logicalId(stack.functions[route.function].function)));
  });

  it('has an auto-deployed stage named after the stage, with access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: wsApiId },
      StageName: 'dev',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context\\.connectionId') },
    });
  });

  it('registers the API Gateway CloudWatch role WebSocket logging needs, before the stage, retained', () => {
    const accounts = template.findResources('AWS::ApiGateway::Account');
    const [accountId, account] = Object.entries(accounts)[0]!;
    expect(Object.keys(accounts)).toHaveLength(1);
    expect(account.DeletionPolicy).toBe('Retain');
    const stageId = logicalId(stack.apis.webSocketStage);
    expect(resource(stageId)).toMatchObject({ DependsOn: expect.arrayContaining([accountId]) });
  });

  it('can leave the account role to someone else', () => {
    const { template: without } = buildStack({ stage: 'dev', manageApiGatewayAccountRole: false });
    without.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('throttling (README "Sizing the throttles")', () => {
  const stageOf = (t: Template, s: PriorityDispatchStack, api: 'http' | 'webSocket') =>
    t.toJSON().Resources[logicalId(api === 'http' ? s.apis.httpStage : s.apis.webSocketStage)] as {
      Properties: { DefaultRouteSettings?: unknown; RouteSettings?: unknown };
      DependsOn?: string[];
    };
  const routeId = (t: Template, routeKey: string) =>
    Object.entries(t.findResources('AWS::ApiGatewayV2::Route')).find(([, r]) => r.Properties.RouteKey === routeKey)![0];

  // The numbers are written out, not read from contract/throttles.ts: changing a default must change this test and the README.
  it('the HTTP stage: every route 100/s, burst 200; POST /intake/start 1/s, burst 5', () => {
    const http = stageOf(template, stack, 'http');
    expect(http.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
    expect(http.Properties.RouteSettings).toEqual({ 'POST /intake/start': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 5 } });
  });

  it('the WebSocket stage: every route 500/s, burst 1,000; accept and decline 100/s, burst 200 each', () => {
    const ws = stageOf(template, stack, 'webSocket');
    expect(ws.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
    expect(ws.Properties.RouteSettings).toEqual({
      accept: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      decline: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
  });

  it('each stage waits for the routes its settings name (CloudFormation refuses settings for a route that does not exist yet)', () => {
    expect(stageOf(template, stack, 'http').DependsOn).toEqual(expect.arrayContaining([routeId(template, 'POST /intake/start')]));
    expect(stageOf(template, stack, 'webSocket').DependsOn).toEqual(expect.arrayContaining([routeId(template, 'accept'), routeId(template, 'decline')]));
  });

  it('the four throttle props set them', () => {
    const { stack: s, template: t } = buildStack({
      httpThrottle: { rateLimit: 50, burstLimit: 60 },
      intakeThrottle: { rateLimit: 0.5, burstLimit: 2 },
      webSocketThrottle: { rateLimit: 300, burstLimit: 400 },
      acceptDeclineThrottle: { rateLimit: 20, burstLimit: 30 },
    });
    expect(stageOf(t, s, 'http').Properties).toMatchObject({
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 60 },
      RouteSettings: { 'POST /intake/start': { ThrottlingRateLimit: 0.5, ThrottlingBurstLimit: 2 } },
    });
    expect(stageOf(t, s, 'webSocket').Properties).toMatchObject({
      DefaultRouteSettings: { ThrottlingRateLimit: 300, ThrottlingBurstLimit: 400 },
      RouteSettings: { accept: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 30 }, decline: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 30 } },
    });
  });

  it.each([
    ['a negative rate', { intakeThrottle: { rateLimit: -1, burstLimit: 5 } }, /intakeThrottle: rateLimit/],
    ['a fractional burst', { httpThrottle: { rateLimit: 10, burstLimit: 2.5 } }, /httpThrottle: burstLimit/],
    ['a NaN rate', { acceptDeclineThrottle: { rateLimit: Number.NaN, burstLimit: 5 } }, /acceptDeclineThrottle: rateLimit/],
  ])('refuses %s', (_label, props, message) => {
    expect(() => new PriorityDispatchStack(buildApp(), 'S', props)).toThrow(message);
  });

  it('the functions that count messages are the WebSocket routes doing table work: their handlers count, and they may UpdateItem', () => {
    expect([...messageFunctions].sort()).toEqual(['wsAccept', 'wsAvailability', 'wsDecline', 'wsSync']);
    for (const name of names) {
      const source = readFileSync(manifest[name].entry, 'utf8');
      expect([name, source.includes('countedMessageHandler(')]).toEqual([name, messageFunctions.includes(name)]);
    }
    for (const name of messageFunctions) expect((manifest[name] as FunctionSpec).table).toContain('UpdateItem');
  });

  it('every function that counts messages gets the per-connection message limit (default 10), and no other', () => {
    for (const name of names)
      expect([name, envOf(template, stack, name)[ENV.messageRateLimit]]).toEqual([name, messageFunctions.includes(name) ? '10' : undefined]);
    const { stack: s, template: t } = buildStack({ messageRateLimit: 3 });
    for (const name of messageFunctions) expect(envOf(t, s, name)[ENV.messageRateLimit]).toBe('3');
  });

  it.each([0, 1.5, -2])('refuses a messageRateLimit of %s', (messageRateLimit) => {
    expect(() => new PriorityDispatchStack(buildApp(), 'S', { messageRateLimit })).toThrow(/messageRateLimit/);
  });
});

describe('outputs', () => {
  it('has the HTTP URL, WebSocket URL, flag name, table name, schedule group, DLQ, dashboard and log groups', () => {
    const outputs = template.toJSON().Outputs;
    expect(sorted(Object.keys(outputs))).toEqual(
      sorted(['HttpApiUrl', 'WebSocketUrl', 'FlagParameterName', 'TableName', 'ScheduleGroupName', 'DeadLetterQueueUrl', 'DashboardUrl', 'LogGroupNames']),
    );
    // Every function's own log group, which the ops CLI's tail reads.
    expect(outputs.LogGroupNames.Value).toEqual({ 'Fn::Join': [',', names.map((name) => ({ Ref: logicalId(stack.functions[name].logGroup) }))] });
    expect(outputs.DeadLetterQueueUrl).toEqual({
      Description: 'Undeliverable timer and fan-out events',
      Value: { Ref: logicalId(stack.timers.deadLetterQueue) },
    });
    expect(outputs.WebSocketUrl.Value).toEqual({
      'Fn::Join': [
        '',
        ['wss://', { Ref: logicalId(stack.apis.webSocketApi) }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/dev'],
      ],
    });
    expect(outputs.FlagParameterName.Value).toEqual({ Ref: logicalId(stack.flag.parameter) });
    expect(outputs.TableName.Value).toEqual({ Ref: logicalId(stack.data.table) });
    expect(outputs.ScheduleGroupName.Value).toBe(scheduleGroupName('dev'));
  });
});

describe('props', () => {
  it('names the stack and its parts after the stage', () => {
    const { stack: prod, template: t } = buildStack({ stage: 'prod' });
    expect(prod.stackName).toBe(stackName('prod'));
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: flagParameterName('prod') });
    t.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: scheduleGroupName('prod') });
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'prod' });
  });

  it('retains state outside dev, with table deletion protection', () => {
    const { stack: prod, template: t } = buildStack({ stage: 'prod' });
    const json = t.toJSON().Resources;
    expect(json[logicalId(prod.data.table)].DeletionPolicy).toBe('Retain');
    expect(json[logicalId(prod.data.table)].Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
    expect(json[logicalId(prod.timers.deadLetterQueue)].DeletionPolicy).toBe('Retain');
    expect(json[logicalId(prod.functions.getSession.logGroup)].DeletionPolicy).toBe('Retain');
    expect(json[logicalId(prod.timers.group)].DeletionPolicy).toBe('Retain');
  });

  it('an explicit removalPolicy wins over the stage default', () => {
    const { stack: s, template: t } = buildStack({ stage: 'dev', removalPolicy: RemovalPolicy.RETAIN });
    expect(t.toJSON().Resources[logicalId(s.data.table)].DeletionPolicy).toBe('Retain');
  });

  it('passes priorityWindow and flagCacheTtl to the handlers in seconds', () => {
    const { stack: s, template: t } = buildStack({ priorityWindow: Duration.minutes(2), flagCacheTtl: Duration.seconds(5) });
    const env = t.toJSON().Resources[logicalId(s.functions.checkoutComplete.function)].Properties.Environment.Variables;
    expect(env[ENV.priorityWindowSeconds]).toBe('120');
    expect(env[ENV.flagCacheTtlSeconds]).toBe('5');
  });

  it.each([
    ['16 s', Duration.seconds(16)],
    ['0 s', Duration.seconds(0)],
    ['1 min', Duration.minutes(1)],
    ['1.5 s', Duration.millis(1500)],
  ])('refuses a flagCacheTtl of %s (must be 1–15 whole seconds)', (_label, flagCacheTtl) => {
    expect(() => new PriorityDispatchStack(buildApp(), 'S', { flagCacheTtl })).toThrow(/flagCacheTtl/);
  });

  it.each(timerSetters)('%s gets the default recovery delay (2 min) and request TTL (30 min)', (name) => {
    expect(envOf(template, stack, name)).toMatchObject({ [ENV.recoveryDelaySeconds]: '120', [ENV.requestTtlSeconds]: '1800' });
  });

  it('passes requestTtl and recoveryDelay to every function that sets timers, in seconds, and to no other', () => {
    const { stack: s, template: t } = buildStack({ requestTtl: Duration.hours(2), recoveryDelay: Duration.minutes(5) });
    expect(timerSetters.length).toBeGreaterThan(0);
    for (const name of names) {
      const env = envOf(t, s, name);
      if (timerSetters.includes(name)) {
        expect(env, name).toMatchObject({ [ENV.requestTtlSeconds]: '7200', [ENV.recoveryDelaySeconds]: '300' });
      } else {
        expect(env[ENV.requestTtlSeconds], name).toBeUndefined();
        expect(env[ENV.recoveryDelaySeconds], name).toBeUndefined();
      }
    }
  });

  it.each([
    ['59 s', Duration.seconds(59)],
    ['0 s', Duration.seconds(0)],
    ['1 day and 1 s', Duration.seconds(86_401)],
    ['90.5 s', Duration.millis(90_500)],
  ])('refuses a requestTtl of %s (must be whole seconds, 1 min – 1 day)', (_label, requestTtl) => {
    expect(() => new PriorityDispatchStack(buildApp(), 'S', { requestTtl })).toThrow(/requestTtl must be a whole number of seconds between 60 and 86400/);
  });

  it.each([
    ['29 s (an API invocation may still be routing)', Duration.seconds(29)],
    ['59 s (under Scheduler’s precision)', Duration.seconds(59)],
    ['15 min and 1 s', Duration.seconds(901)],
    ['90.5 s', Duration.millis(90_500)],
  ])('refuses a recoveryDelay of %s (must be whole seconds, 1–15 min)', (_label, recoveryDelay) => {
    expect(() => new PriorityDispatchStack(buildApp(), 'S', { recoveryDelay })).toThrow(/recoveryDelay must be a whole number of seconds between 60 and 900/);
  });

  it('maxOpenBookingsPerCustomer reaches the intake (only it holds customers to the limit); 1 and 100 are accepted', () => {
    for (const max of [1, 100]) {
      const { stack: s, template: t } = buildStack({ maxOpenBookingsPerCustomer: max });
      expect(envOf(t, s, 'intakeStart')[ENV.maxOpenBookingsPerCustomer]).toBe(String(max));
      expect(envOf(t, s, 'cancelSession')[ENV.maxOpenBookingsPerCustomer]).toBeUndefined();
    }
  });

  it.each([0, -1, 2.5, 101])('refuses a maxOpenBookingsPerCustomer of %s (a whole number from 1 to 100)', (maxOpenBookingsPerCustomer) => {
    expect(() => new PriorityDispatchStack(buildApp(), 'S', { maxOpenBookingsPerCustomer })).toThrow(
      /maxOpenBookingsPerCustomer must be a whole number between 1 and 100/,
    );
  });

  it('accepts the bounds of requestTtl and recoveryDelay', () => {
    for (const props of [
      { requestTtl: Duration.seconds(60), recoveryDelay: Duration.seconds(60) },
      { requestTtl: Duration.days(1), recoveryDelay: Duration.minutes(15) },
    ]) {
      const { stack: s, template: t } = buildStack(props);
      expect(envOf(t, s, 'intakeStart')).toMatchObject({
        [ENV.requestTtlSeconds]: String(props.requestTtl.toSeconds()),
        [ENV.recoveryDelaySeconds]: String(props.recoveryDelay.toSeconds()),
      });
    }
  });

  it('refuses a zero priority window and a malformed stage', () => {
    expect(() => new PriorityDispatchStack(buildApp(), 'S', { priorityWindow: Duration.seconds(0) })).toThrow(/priorityWindow/);
    expect(() => new PriorityDispatchStack(buildApp(), 'S', { stage: 'Prod_1' })).toThrow(/stage/);
  });

  it('without a jwtIssuer: the placeholder issuer (fail closed) and a synth warning', () => {
    const app = buildApp();
    const s = new PriorityDispatchStack(app, 'NoIssuer', {});
    const t = Annotations.fromStack(s);
    t.hasWarning('/NoIssuer', Match.stringLikeRegexp('jwtIssuer is not set.*refuse every request'));
    const json = (s.node.root as typeof app).synth().getStackByName('NoIssuer').template;
    const authorizers = Object.values(json.Resources as Record<string, { Type: string; Properties: any }>).filter(
      (r) => r.Type === 'AWS::ApiGatewayV2::Authorizer' && r.Properties.AuthorizerType === 'JWT',
    );
    expect(authorizers.map((a) => a.Properties.JwtConfiguration.Issuer)).toEqual([PLACEHOLDER_JWT_ISSUER]);
  });

  it('with a jwtIssuer: no warning', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

/**
 * Route `Target: integrations/<Ref>` → the function that integration invokes:
 * the `Fn::GetAtt [fn, Arn]` inside its `IntegrationUri` (HTTP APIs use the
 * function ARN itself, WebSocket APIs wrap it in an apigateway invocation ARN).
 */
function integrationTarget(target: unknown): unknown {
  const parts = (target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const ref = (parts.find((p) => typeof p === 'object') as { Ref: string }).Ref;
  expect(resource(ref).Properties.IntegrationType).toBe('AWS_PROXY');
  return findGetAttArn(resource(ref).Properties.IntegrationUri);
}

function findGetAttArn(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(findGetAttArn).find((found) => found !== undefined);
  if (node && typeof node === 'object') {
    const getAtt = (node as Record<string, unknown>)['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn') return node;
    return Object.values(node)
      .map(findGetAttArn)
      .find((found) => found !== undefined);
  }
  return undefined;
}

function getAttArnQueueName(queueId: string) {
  return { 'Fn::GetAtt': [queueId, 'QueueName'] };
}

describe('log level', () => {
  it('is INFO by default and the logLevel prop sets it on every function', () => {
    const levels = (template: Template) =>
      new Set(Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Environment.Variables[ENV.logLevel]));
    expect(levels(buildStack().template)).toEqual(new Set(['INFO']));
    expect(levels(buildStack({ logLevel: 'DEBUG' }).template)).toEqual(new Set(['DEBUG']));
  });
});
