/**
 * Shared by the infra tests: build the stack in a fresh App with esbuild
 * bundling skipped (only bundle.test.ts bundles for real), and read IAM out of
 * the synthesized template as flat `action on resource` strings.
 */
import { readFileSync } from 'node:fs';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { flattenReference } from '../../lib/constructs/nag';
import { PriorityDispatchStack, type PriorityDispatchStackProps } from '../../lib/priority-dispatch-stack';
import { stackName } from '../../contract/naming';

/** A real issuer so the placeholder warning does not show up where it is not under test. */
export const TEST_ISSUER = 'https://auth.example.com';

export interface Built {
  app: App;
  stack: PriorityDispatchStack;
  template: Template;
}

/** cdk.json's context: the feature flags `cdk synth` runs with, so these tests see the template a deploy gets. */
const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

/** `outdir`: where synth writes the assembly and its assets (default: a new temporary directory). */
export function buildApp(outdir?: string): App {
  // `aws:cdk:bundling-stacks: []` skips NodejsFunction bundling: synth in ~1 s.
  return new App({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
}

export function buildStack(props: PriorityDispatchStackProps = {}): Built {
  const app = buildApp();
  const stage = props.stage ?? 'dev';
  const stack = new PriorityDispatchStack(app, stackName(stage), { jwtIssuer: TEST_ISSUER, ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical id CloudFormation knows a construct's main resource by. */
export function logicalId(construct: IConstruct): string {
  const resource = CfnResource.isCfnResource(construct) ? construct : construct.node.defaultChild;
  if (!resource || !CfnResource.isCfnResource(resource)) throw new Error(`${construct.node.path} has no CfnResource`);
  return Stack.of(construct).getLogicalId(resource);
}

/** `<LogicalId.Arn>`: how a `Fn::GetAtt … Arn` renders in {@link statementsOf}. */
export const arnOf = (construct: IConstruct): string => `<${logicalId(construct)}.Arn>`;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
  Principal?: unknown;
  NotAction?: unknown;
  NotResource?: unknown;
}

export interface Grant {
  /** `dynamodb:GetItem on <DataTableX.Arn>` */
  readonly grant: string;
  readonly condition?: unknown;
  readonly effect: string;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every (action, resource) pair granted to a role, from every policy attached to it in the template. */
export function grantsOf(template: Template, roleLogicalId: string): Grant[] {
  const grants: Grant[] = [];
  const policies = template.findResources('AWS::IAM::Policy');
  for (const policy of Object.values(policies)) {
    const roles = (policy.Properties.Roles ?? []) as { Ref: string }[];
    if (!roles.some((role) => role.Ref === roleLogicalId)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
      if (statement.NotAction || statement.NotResource) throw new Error('NotAction/NotResource is not expected anywhere');
      for (const action of asArray(statement.Action)) {
        for (const resource of asArray(statement.Resource)) {
          grants.push({ grant: `${action} on ${flattenReference(resource)}`, condition: statement.Condition, effect: statement.Effect });
        }
      }
    }
  }
  return grants;
}

/** The role's own properties: inline policies and managed policies must stay empty. */
export function roleProperties(template: Template, roleLogicalId: string): Record<string, unknown> {
  const role = template.findResources('AWS::IAM::Role')[roleLogicalId];
  if (!role) throw new Error(`no role ${roleLogicalId}`);
  return role.Properties as Record<string, unknown>;
}

export const sorted = (values: Iterable<string>): string[] => [...values].sort();
