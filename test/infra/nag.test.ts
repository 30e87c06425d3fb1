/**
 * cdk-nag AwsSolutions on the whole stack. cdk-nag 3 runs as a CDK policy
 * validation plugin (`Validations.of(app).addPlugins(...)`, as bin/app.ts
 * does) and findings are acknowledged with `Validations.of(x).acknowledge`.
 * Every acknowledgement must carry a real reason and must still match a
 * finding: a stale one would silently pre-approve a future, different problem.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MIN_REASON_LENGTH } from '../../lib/constructs/nag';
import { PriorityDispatchStack, type PriorityDispatchStackProps } from '../../lib/priority-dispatch-stack';
import { TEST_ISSUER, buildApp } from './synth-helpers';

// One assembly directory for every app here, removed afterwards: the console site stages the AWS CLI layer (22 MB) into it.
const outdir = mkdtempSync(join(tmpdir(), 'priority-dispatch-nag-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function nagApp(props: PriorityDispatchStackProps = {}): App {
  const app = buildApp(outdir);
  new PriorityDispatchStack(app, 'PriorityDispatch-dev', { jwtIssuer: TEST_ISSUER, ...props });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** `{ id → reason }` of every acknowledgement recorded anywhere in the tree. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning, and synth succeeds with the plugin on', () => {
    const app = nagApp();
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synth on a finding nobody acknowledged (the plugin really gates synth)', () => {
    const app = new App();
    const stack = new Stack(app, 'Careless');
    const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5/);
  });

  it('every acknowledgement gives a reason of decent length', () => {
    const acks = acknowledgements(nagApp());
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.trim().length, `${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(MIN_REASON_LENGTH);
    }
  });

  it('every acknowledgement still matches a finding, and these are all of them', () => {
    const { acknowledged, findings } = findingsWithoutAcknowledgements();

    expect(acknowledged).toEqual(findings);
    expect(anonymous(findings)).toEqual(STACK_FINDINGS.sort());
  });
});

describe('cdk-nag AwsSolutions with the console site (consoleSite: true)', () => {
  it('reports no unacknowledged error or warning, and synth succeeds with the plugin on', () => {
    const app = nagApp({ consoleSite: true });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });

  it("every acknowledgement still matches a finding, and these are the stack's and the site's", () => {
    const { acknowledged, findings } = findingsWithoutAcknowledgements({ consoleSite: true });

    expect(acknowledged).toEqual(findings);
    expect(anonymous(findings)).toEqual([...STACK_FINDINGS, ...SITE_FINDINGS].sort());
  });
});

const STACK_FINDINGS = [
  // WebSocket routes after $connect: API Gateway only authorizes $connect.
  'AwsSolutions-APIG4',
  // The account-level API Gateway logging role uses the AWS managed policy.
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
  // Connection ids of this one API stage.
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<Id>/dev/*/@connections/*]',
  // Schedules of this stage's group, named per request at run time.
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/priority-dispatch-dev/*]',
  // The DLQ has no DLQ of its own.
  'AwsSolutions-SQS3',
];

const SITE_FINDINGS = [
  // The site bucket's access log and the distribution's: the APIs keep the logs that matter.
  'AwsSolutions-S1',
  'AwsSolutions-CFR3',
  // No geo restriction, no WAF, the default certificate's TLS policy.
  'AwsSolutions-CFR1',
  'AwsSolutions-CFR2',
  'AwsSolutions-CFR4',
  // BucketDeployment's handler, as aws-cdk-lib builds and grants it.
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  'AwsSolutions-IAM5[Action::s3:Abort*]',
  'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
  'AwsSolutions-IAM5[Action::s3:GetBucket*]',
  'AwsSolutions-IAM5[Action::s3:GetObject*]',
  'AwsSolutions-IAM5[Action::s3:List*]',
  'AwsSolutions-IAM5[Resource::<Id>/*]',
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
  'AwsSolutions-IAM5[Resource::*]',
  'AwsSolutions-L1',
];

/** Records acknowledgements instead of applying them, then asks cdk-nag what it finds: both sorted. */
function findingsWithoutAcknowledgements(props: PriorityDispatchStackProps = {}): { acknowledged: string[]; findings: string[] } {
  const acknowledged = new Set<string>();
  vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation((...rules) => {
    for (const rule of rules) acknowledged.add(rule.id);
  });
  const app = buildApp(outdir);
  new PriorityDispatchStack(app, 'PriorityDispatch-dev', { jwtIssuer: TEST_ISSUER, ...props });
  const findings = new Set(new AwsSolutionsChecks(app).validateScope(app).violations.map((v) => v.ruleName));
  return { acknowledged: [...acknowledged].sort(), findings: [...findings].sort() };
}

/** Finding ids with logical ids (which change with construct paths) as `<Id>`. */
const anonymous = (findings: string[]): string[] => findings.map((id) => id.replace(/<[A-Za-z]+[0-9A-F]{8}(\.Arn)?>/g, '<Id>')).sort();
