/**
 * IAM, as far as the handlers' own calls go: the sandbox runs every handler
 * with exactly the permissions contract/routes.ts grants it in the stack, and
 * refuses anything else with AccessDeniedException, as AWS would. So a
 * handler that starts using an action its manifest entry does not grant fails
 * here, in the tests, instead of after `cdk deploy`.
 */
import { randomBytes } from 'node:crypto';
import { functions, type FunctionName, type FunctionSpec } from '../contract/routes';
import { SANDBOX_ACCOUNT } from './account';
import type { SigningIdentity } from './sigv4';

/**
 * SDK command class → IAM action. A command not listed is denied: new calls must be added here and granted.
 * `@connections` calls are not SDK commands (the functions sign them themselves): the WebSocket gateway checks
 * their signature and the signer's grants, as API Gateway does.
 */
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
  BatchGetCommand: 'dynamodb:BatchGetItem',
  BatchGetItemCommand: 'dynamodb:BatchGetItem',
  ScanCommand: 'dynamodb:Scan',
  GetParameterCommand: 'ssm:GetParameter',
  CreateScheduleCommand: 'scheduler:CreateSchedule',
  UpdateScheduleCommand: 'scheduler:UpdateSchedule',
  InvokeCommand: 'lambda:InvokeFunction',
  DeleteScheduleCommand: 'scheduler:DeleteSchedule',
  GetScheduleCommand: 'scheduler:GetSchedule',
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
      `User: arn:aws:sts::${SANDBOX_ACCOUNT}:assumed-role/${functionName}-role/${functionName} is not authorized to perform: ${action} (not granted in contract/routes.ts)`,
    );
    this.name = 'AccessDeniedException';
  }
}

/** Access key, secret and session token, as Lambda puts a function's role credentials in its environment. */
export interface RoleCredentials {
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
  readonly AWS_SESSION_TOKEN: string;
}

/** A key the sandbox knows, who holds it and what it may do (`*`: anything). */
export interface Principal extends SigningIdentity {
  readonly actions: ReadonlySet<string> | '*';
}

export interface SerializedPrincipals {
  principals: (Omit<Principal, 'actions'> & { actions: string[] | '*' })[];
  ofFunction: Record<string, string>;
}

/** The key the README and the tests give the AWS CLI and SDK clients: the operator's, allowed everything. */
export const OPERATOR_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/**
 * Who may sign requests to the endpoints that check signatures (`@connections`):
 * the operator, and each function with credentials of its own role (new ones
 * each start), allowed exactly what the manifest grants that function.
 */
export class SandboxPrincipals {
  private readonly byKey = new Map<string, Principal>();
  private readonly ofFunction = new Map<FunctionName, Principal>();

  /** New keys for every function; or, in another thread, the same principals from `toJSON`. */
  constructor(from?: SerializedPrincipals) {
    if (from) {
      for (const p of from.principals) this.add({ ...p, actions: p.actions === '*' ? '*' : new Set(p.actions) });
      for (const [name, key] of Object.entries(from.ofFunction)) this.ofFunction.set(name as FunctionName, this.byKey.get(key)!);
      return;
    }
    this.add({ ...OPERATOR_CREDENTIALS, arn: `arn:aws:iam::${SANDBOX_ACCOUNT}:user/sandbox-operator`, actions: '*' });
    for (const name of Object.keys(functions) as FunctionName[]) {
      const principal: Principal = {
        accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: randomBytes(48).toString('base64'),
        arn: `arn:aws:sts::${SANDBOX_ACCOUNT}:assumed-role/${name}-role/${name}`,
        actions: grantedActions(name),
      };
      this.add(principal);
      this.ofFunction.set(name, principal);
    }
  }

  /** Plain data that another thread's `new SandboxPrincipals(…)` takes. */
  toJSON(): SerializedPrincipals {
    return {
      principals: [...this.byKey.values()].map((p) => ({ ...p, actions: p.actions === '*' ? '*' : [...p.actions] })),
      ofFunction: Object.fromEntries([...this.ofFunction].map(([name, p]) => [name, p.accessKeyId])),
    };
  }

  identityOf(accessKeyId: string): Principal | undefined {
    return this.byKey.get(accessKeyId);
  }

  may(principal: Principal, action: string): boolean {
    return principal.actions === '*' || principal.actions.has(action);
  }

  /** Each function's role credentials, for its containers' environment. */
  roleCredentials(): Record<FunctionName, RoleCredentials> {
    return Object.fromEntries(
      [...this.ofFunction].map(([name, p]) => [
        name,
        { AWS_ACCESS_KEY_ID: p.accessKeyId, AWS_SECRET_ACCESS_KEY: p.secretAccessKey, AWS_SESSION_TOKEN: p.sessionToken ?? '' },
      ]),
    ) as Record<FunctionName, RoleCredentials>;
  }

  private add(principal: Principal): void {
    this.byKey.set(principal.accessKeyId, principal);
  }
}
