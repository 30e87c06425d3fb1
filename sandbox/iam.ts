/**
 * IAM, as far as the handlers' own calls go: the sandbox runs every handler
 * with exactly the permissions contract/routes.ts grants it in the stack, and
 * refuses anything else with AccessDeniedException, as AWS would. So a
 * handler that starts using an action its manifest entry does not grant fails
 * here, in the tests, instead of after `cdk deploy`.
 */
import { functions, type FunctionName, type FunctionSpec } from '../contract/routes';

/** SDK command class → IAM action. A command not listed is denied: new calls must be added here and granted. */
const ACTIONS: Record<string, string> = {
  GetCommand: 'dynamodb:GetItem',
  GetItemCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  PutItemCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  UpdateItemCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  DeleteItemCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  GetParameterCommand: 'ssm:GetParameter',
  CreateScheduleCommand: 'scheduler:CreateSchedule',
  UpdateScheduleCommand: 'scheduler:UpdateSchedule',
  InvokeCommand: 'lambda:InvokeFunction',
  DeleteScheduleCommand: 'scheduler:DeleteSchedule',
  GetScheduleCommand: 'scheduler:GetSchedule',
  PostToConnectionCommand: 'execute-api:ManageConnections',
  GetConnectionCommand: 'execute-api:ManageConnections',
  DeleteConnectionCommand: 'execute-api:ManageConnections',
};

/** The actions the stack grants a function (the same reading of the manifest as lib/constructs/node-function.ts). */
export function grantedActions(name: FunctionName): Set<string> {
  const spec: FunctionSpec = functions[name];
  const granted = new Set<string>((spec.table ?? []).map((action) => `dynamodb:${action}`));
  if (spec.readsFlag) granted.add('ssm:GetParameter');
  if (spec.setsTimers) {
    granted.add('scheduler:CreateSchedule');
    granted.add('scheduler:UpdateSchedule');
  }
  if (spec.clearsTimers) granted.add('scheduler:DeleteSchedule');
  if (spec.readsTimers) granted.add('scheduler:GetSchedule');
  if (spec.fansOut) granted.add('lambda:InvokeFunction');
  if (spec.pushes) granted.add('execute-api:ManageConnections');
  return granted;
}

export const actionOf = (commandName: string): string => ACTIONS[commandName] ?? `unknown:${commandName}`;

/** The AWS operation an SDK command calls (`PutCommand` of lib-dynamodb → `PutItem`), as faults name it. */
export function operationOf(commandName: string): string {
  const action = ACTIONS[commandName];
  if (action?.startsWith('dynamodb:')) return action.slice('dynamodb:'.length);
  return commandName.replace(/Command$/, '');
}

export class AccessDeniedException extends Error {
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };

  constructor(functionName: FunctionName, action: string) {
    super(
      `User: arn:aws:sts::000000000000:assumed-role/${functionName}-role/${functionName} is not authorized to perform: ${action} (not granted in contract/routes.ts)`,
    );
    this.name = 'AccessDeniedException';
  }
}
