/** Names derived from the stage, shared by the stack, the sandbox and the docs. */

export const DEFAULT_STAGE = 'dev';

export const stackName = (stage: string): string => `PriorityDispatch-${stage}`;

/** The feature flag ops flip: value `true` or `false`. */
export const flagParameterName = (stage: string): string => `/priority-dispatch/${stage}/ENABLE_FAVORITES_PRIORITY`;

export const scheduleGroupName = (stage: string): string => `priority-dispatch-${stage}`;

/** A function's name: the stack names the asynchronous targets so (they refer to themselves); the sandbox names every function so. */
export const functionName = (stage: string, name: string): string => `priority-dispatch-${stage}-${name}`;

/** The sandbox's table; the stack lets CloudFormation name its table (the `TableName` output). */
export const sandboxTableName = (stage: string): string => `priority-dispatch-${stage}`;

/** The stack's outputs (lib/priority-dispatch-stack.ts), as tools read them back from CloudFormation. */
export const STACK_OUTPUTS = {
  httpApiUrl: 'HttpApiUrl',
  webSocketUrl: 'WebSocketUrl',
  flagParameterName: 'FlagParameterName',
  tableName: 'TableName',
  scheduleGroupName: 'ScheduleGroupName',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  dashboardUrl: 'DashboardUrl',
  /** Every function's log group, comma-separated: CloudFormation names them, so only the stack can say. */
  logGroupNames: 'LogGroupNames',
  /** Only with `consoleSite`: the web console's CloudFront address. */
  consoleUrl: 'ConsoleUrl',
} as const;

/** Where `npm start` listens by default, and the stage and region it plays. */
export const SANDBOX_DEFAULTS = {
  stage: 'local',
  region: 'us-east-1',
  httpUrl: 'http://127.0.0.1:3000',
  awsUrl: 'http://127.0.0.1:4566',
} as const;
/** The CloudWatch dashboard of the business metrics and the alarms. */
export const dashboardName = (stage: string): string => `PriorityDispatch-${stage}`;
