/**
 * Least privilege, checked from the synthesized template: every function gets
 * exactly the grants its manifest flags imply (computed here independently of
 * the construct code), every function is pinned by hand so a widening
 * anywhere fails, and the scheduler role can do nothing but run the timer.
 */
import { describe, expect, it } from 'vitest';
import { asyncTargets, type FunctionName, type FunctionSpec, functions as manifest, isAsyncTarget } from '../../contract/routes';
import { tableSchema } from '../../contract/table-schema';
import { grantedActions } from '../../sandbox/iam';
import { arnOf, buildStack, grantsOf, logicalId, roleProperties, sorted } from './synth-helpers';

const { stack, template } = buildStack({ stage: 'dev' });
const names = Object.keys(manifest) as FunctionName[];

// How each resource renders once flattened (`<LogicalId.Arn>`, `<AWS::Region>`, …).
const TABLE = arnOf(stack.data.table);
const INDEXES = tableSchema.globalSecondaryIndexes.map((index) => `${TABLE}/index/${index.indexName}`);
const FLAG = `arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter<${logicalId(stack.flag.parameter)}>`;
const CONNECTIONS = `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalId(stack.apis.webSocketApi)}>/dev/*/@connections/*`;
const SCHEDULES = 'arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/priority-dispatch-dev/*';
const SCHEDULER_ROLE = arnOf(stack.timers.role);
const DLQ = arnOf(stack.timers.deadLetterQueue);
const TIMER_FN = arnOf(stack.functions.requestTimer.function);
const FAN_OUT_FN = arnOf(stack.functions.fanOut.function);
/** The fan-out's grant on itself: its ARN from its fixed name (a reference to itself would be a cycle). */
const FAN_OUT_SELF = 'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:priority-dispatch-dev-fanOut';
const SET_TIMERS = [`scheduler:CreateSchedule on ${SCHEDULES}`, `scheduler:UpdateSchedule on ${SCHEDULES}`, `iam:PassRole on ${SCHEDULER_ROLE}`];
const CLEAR_TIMERS = [`scheduler:DeleteSchedule on ${SCHEDULES}`];
/** Get, Update, Delete and Query (with every index) on the table: MOVES_A_BOOKING in contract/routes.ts. */
const MOVES_A_BOOKING = [`dynamodb:GetItem on ${TABLE}`, `dynamodb:UpdateItem on ${TABLE}`, `dynamodb:DeleteItem on ${TABLE}`];
const QUERY_INDEXES = [`dynamodb:Query on ${TABLE}`, ...INDEXES.map((index) => `dynamodb:Query on ${index}`)];
const logsOf = (name: FunctionName) => [
  `logs:CreateLogStream on ${arnOf(stack.functions[name].logGroup)}`,
  `logs:PutLogEvents on ${arnOf(stack.functions[name].logGroup)}`,
];

const grantsOfFunction = (name: FunctionName) => grantsOf(template, logicalId(stack.functions[name].role));
const grantSet = (name: FunctionName) => sorted(grantsOfFunction(name).map((g) => g.grant));

/** What the manifest flags mean, written out independently of node-function.ts. */
function expectedFromManifest(name: FunctionName, spec: FunctionSpec): string[] {
  const expected = [...logsOf(name)];
  for (const action of spec.table ?? []) expected.push(`dynamodb:${action} on ${TABLE}`);
  if (spec.table?.includes('Query')) expected.push(...INDEXES.map((index) => `dynamodb:Query on ${index}`));
  if (spec.readsFlag) expected.push(`ssm:GetParameter on ${FLAG}`);
  if (spec.pushes) expected.push(`execute-api:ManageConnections on ${CONNECTIONS}`);
  if (spec.setsTimers) {
    expected.push(`scheduler:CreateSchedule on ${SCHEDULES}`, `scheduler:UpdateSchedule on ${SCHEDULES}`, `iam:PassRole on ${SCHEDULER_ROLE}`);
  }
  if (spec.clearsTimers) expected.push(`scheduler:DeleteSchedule on ${SCHEDULES}`);
  if (spec.readsTimers) expected.push(`scheduler:GetSchedule on ${SCHEDULES}`);
  if (spec.fansOut) expected.push(`lambda:InvokeFunction on ${name === asyncTargets.fanOut ? FAN_OUT_SELF : FAN_OUT_FN}`);
  // An async target's failed invocations go to the DLQ (request-timers.ts).
  if (isAsyncTarget(name)) expected.push(`sqs:SendMessage on ${DLQ}`);
  return sorted(expected);
}

describe('function roles: exactly what the manifest lists', () => {
  it.each(names)('%s', (name) => {
    expect(grantSet(name)).toEqual(expectedFromManifest(name, manifest[name]));
  });

  it.each(names)('%s: no managed policies, no inline policies on the role, only Allow', (name) => {
    const role = roleProperties(template, logicalId(stack.functions[name].role));
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
    });
    expect(new Set(grantsOfFunction(name).map((g) => g.effect))).toEqual(new Set(['Allow']));
  });
});

describe('function roles: pinned by hand (a widening anywhere fails here)', () => {
  const pinned: Partial<Record<FunctionName, string[]>> = {
    getSession: [...logsOf('getSession'), `dynamodb:GetItem on ${TABLE}`],
    wsPing: [...logsOf('wsPing'), `execute-api:ManageConnections on ${CONNECTIONS}`],
    wsDefault: [...logsOf('wsDefault'), `execute-api:ManageConnections on ${CONNECTIONS}`],
    wsConnect: [...logsOf('wsConnect'), `dynamodb:PutItem on ${TABLE}`],
    wsDisconnect: [...logsOf('wsDisconnect'), `dynamodb:DeleteItem on ${TABLE}`],
    // Get: the mechanic; Delete: the ticket it uses up.
    wsAuthorizer: [...logsOf('wsAuthorizer'), `dynamodb:GetItem on ${TABLE}`, `dynamodb:DeleteItem on ${TABLE}`],
    wsTicket: [...logsOf('wsTicket'), `dynamodb:PutItem on ${TABLE}`],
    intakeStart: [
      ...logsOf('intakeStart'),
      `dynamodb:PutItem on ${TABLE}`,
      `dynamodb:GetItem on ${TABLE}`,
      `dynamodb:UpdateItem on ${TABLE}`,
      `dynamodb:DeleteItem on ${TABLE}`,
      `dynamodb:Query on ${TABLE}`,
      `dynamodb:Query on ${TABLE}/index/connections-by-mechanic`,
      `dynamodb:Query on ${TABLE}/index/connections-by-shard`,
      `dynamodb:Query on ${TABLE}/index/connections-by-workshop`,
      `dynamodb:Query on ${TABLE}/index/pending-by-audience`,
      `dynamodb:Query on ${TABLE}/index/bookings-by-customer`,
      `ssm:GetParameter on ${FLAG}`,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
      `scheduler:CreateSchedule on ${SCHEDULES}`,
      `scheduler:UpdateSchedule on ${SCHEDULES}`,
      `iam:PassRole on ${SCHEDULER_ROLE}`,
      `lambda:InvokeFunction on ${FAN_OUT_FN}`,
    ],
    checkoutComplete: [
      ...logsOf('checkoutComplete'),
      ...MOVES_A_BOOKING,
      ...QUERY_INDEXES,
      `ssm:GetParameter on ${FLAG}`,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
      ...SET_TIMERS,
      ...CLEAR_TIMERS,
      `lambda:InvokeFunction on ${FAN_OUT_FN}`,
    ],
    cancelSession: [
      ...logsOf('cancelSession'),
      ...MOVES_A_BOOKING,
      ...QUERY_INDEXES,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
      ...CLEAR_TIMERS,
      `scheduler:GetSchedule on ${SCHEDULES}`,
      `lambda:InvokeFunction on ${FAN_OUT_FN}`,
    ],
    wsAccept: [
      ...logsOf('wsAccept'),
      ...MOVES_A_BOOKING,
      ...QUERY_INDEXES,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
      ...CLEAR_TIMERS,
      `lambda:InvokeFunction on ${FAN_OUT_FN}`,
    ],
    wsDecline: [
      ...logsOf('wsDecline'),
      ...MOVES_A_BOOKING,
      ...QUERY_INDEXES,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
      ...SET_TIMERS,
      `lambda:InvokeFunction on ${FAN_OUT_FN}`,
    ],
    wsAvailability: [...logsOf('wsAvailability'), `dynamodb:UpdateItem on ${TABLE}`, ...QUERY_INDEXES, `execute-api:ManageConnections on ${CONNECTIONS}`],
    wsSync: [
      ...logsOf('wsSync'),
      `dynamodb:GetItem on ${TABLE}`,
      ...QUERY_INDEXES,
      `dynamodb:BatchGetItem on ${TABLE}`,
      // Counts the message (its connection's per-second counter).
      `dynamodb:UpdateItem on ${TABLE}`,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
    ],
    requestTimer: [
      ...logsOf('requestTimer'),
      ...MOVES_A_BOOKING,
      ...QUERY_INDEXES,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
      ...SET_TIMERS,
      ...CLEAR_TIMERS,
      `scheduler:GetSchedule on ${SCHEDULES}`,
      `lambda:InvokeFunction on ${FAN_OUT_FN}`,
      `sqs:SendMessage on ${DLQ}`,
    ],
    fanOut: [
      ...logsOf('fanOut'),
      `dynamodb:DeleteItem on ${TABLE}`,
      ...QUERY_INDEXES,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
      `lambda:InvokeFunction on ${FAN_OUT_SELF}`,
      `sqs:SendMessage on ${DLQ}`,
    ],
    putMechanic: [
      ...logsOf('putMechanic'),
      `dynamodb:PutItem on ${TABLE}`,
      `dynamodb:UpdateItem on ${TABLE}`,
      `dynamodb:DeleteItem on ${TABLE}`,
      ...QUERY_INDEXES,
      `execute-api:ManageConnections on ${CONNECTIONS}`,
    ],
  };

  it.each(Object.entries(pinned))('%s', (name, expected) => {
    expect(grantSet(name as FunctionName)).toEqual(sorted(expected));
  });

  it('pins every function', () => {
    expect(sorted(Object.keys(pinned))).toEqual(sorted(names));
  });
});

describe('the sandbox enforces the same grants', () => {
  // sandbox/iam.ts refuses any SDK call a function is not granted; it must read the manifest as the stack does.
  const SANDBOX_CHECKED = /^(dynamodb|ssm|scheduler|execute-api|lambda):/;
  it.each(names)('%s', (name) => {
    const inTemplate = new Set(
      grantsOfFunction(name)
        .map((g) => g.grant.split(' on ')[0]!)
        .filter((action) => SANDBOX_CHECKED.test(action)),
    );
    expect(sorted(grantedActions(name))).toEqual(sorted(inTemplate));
  });
});

describe('scheduler', () => {
  it('the role the Scheduler assumes can only invoke the timer function (unqualified) and send to the DLQ', () => {
    const roleId = logicalId(stack.timers.role);
    expect(sorted(grantsOf(template, roleId).map((g) => g.grant))).toEqual(sorted([`lambda:InvokeFunction on ${TIMER_FN}`, `sqs:SendMessage on ${DLQ}`]));
    const role = roleProperties(template, roleId);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
  });

  it('iam:PassRole is granted only on the scheduler role and only to scheduler.amazonaws.com', () => {
    const passRoles = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[]).filter((statement) =>
        [statement.Action].flat().some((action) => action.startsWith('iam:')),
      ),
    );
    const setters = names.filter((name) => (manifest[name] as FunctionSpec).setsTimers);
    expect(setters.length).toBeGreaterThan(0);
    expect(passRoles).toHaveLength(setters.length);
    for (const statement of passRoles) {
      expect(statement).toEqual({
        Action: 'iam:PassRole',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(stack.timers.role), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      });
    }
  });

  it.each(Object.values(asyncTargets))('%s has no resource-based invoke permission: it is invoked through its callers’ roles', (name) => {
    const functionId = logicalId(stack.functions[name].function);
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter((permission) =>
      JSON.stringify(permission.Properties.FunctionName).includes(functionId),
    );
    expect(permissions).toEqual([]);
  });
});

describe('fan-out', () => {
  it('every function that fans out may invoke the fan-out function (unqualified), and nothing may invoke any other', () => {
    const invokers = Object.fromEntries(
      names.flatMap((name) => {
        const invokes = grantsOfFunction(name).filter((g) => g.grant.startsWith('lambda:'));
        return invokes.length ? [[name, invokes.map((g) => g.grant)]] : [];
      }),
    );
    const fansOut = names.filter((name) => (manifest[name] as FunctionSpec).fansOut);
    expect(fansOut).toContain(asyncTargets.fanOut);
    expect(invokers).toEqual(
      Object.fromEntries(fansOut.map((name) => [name, [`lambda:InvokeFunction on ${name === asyncTargets.fanOut ? FAN_OUT_SELF : FAN_OUT_FN}`]])),
    );
  });

  it('the fan-out’s grant on itself names its own function', () => {
    expect(stack.functions.fanOut.physicalName).toBe('priority-dispatch-dev-fanOut');
    expect(FAN_OUT_SELF.endsWith(`:function:${stack.functions.fanOut.physicalName}`)).toBe(true);
  });
});

describe('no wildcards beyond the acknowledged ones', () => {
  const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
  );

  it('no action is a wildcard', () => {
    const actions = all.flatMap((statement) => [statement.Action].flat());
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('no statement grants Resource "*"', () => {
    const resources = all.flatMap((statement) => [statement.Resource].flat());
    expect(resources).not.toContain('*');
  });

  it('no statement carries a condition except iam:PassRole', () => {
    const conditioned = all.filter((statement) => 'Condition' in statement);
    expect(conditioned.every((statement) => statement.Action === 'iam:PassRole')).toBe(true);
  });
});
