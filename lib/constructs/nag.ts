/**
 * cdk-nag 3 acknowledgements. cdk-nag 3 has no `NagSuppressions`: a finding is
 * acknowledged with CDK's own `Validations.of(scope).acknowledge({ id, reason })`
 * on the resource or one of its ancestors, and a finding that names a resource
 * (IAM4/IAM5) must be acknowledged with its exact id, e.g.
 * `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:…/*]`. The helpers below
 * build those ids from the same tokens the policy uses, so a suppression can
 * never drift away from the statement it explains.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Shortest reason we accept; nag.test.ts asserts it for every acknowledgement. */
export const MIN_REASON_LENGTH = 40;

/** Acknowledge one AwsSolutions rule on `scope` (and everything under it). */
export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  if (reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(`cdk-nag acknowledgement of ${rule} on ${scope.node.path} needs a real reason (≥ ${MIN_REASON_LENGTH} characters)`);
  }
  Validations.of(scope).acknowledge({ id: rule.startsWith('AwsSolutions-') ? rule : `AwsSolutions-${rule}`, reason });
}

/**
 * Acknowledge the IAM5 (wildcard) finding for one policy resource. `resource`
 * is the same string (usually with tokens) given to the `PolicyStatement`.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  acknowledge(scope, `AwsSolutions-IAM5[Resource::${flattenReference(Stack.of(scope).resolve(resource))}]`, reason);
}

/**
 * Renders a resolved CloudFormation value the way cdk-nag names it in a finding
 * id: `Fn::Join` concatenated, `Ref` → `<Id>`, `Fn::GetAtt` → `<Id.Attr>`.
 */
export function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const value = node as Record<string, unknown>;
    if (value['Fn::Join']) {
      const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (value['Fn::Sub']) return flattenReference(value['Fn::Sub']);
    if (value['Fn::GetAtt']) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if (value['Fn::ImportValue']) return flattenReference(value['Fn::ImportValue']);
    if (value.Ref) return `<${flattenReference(value.Ref)}>`;
  }
  return JSON.stringify(node);
}
