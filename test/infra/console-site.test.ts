/**
 * The web console as a static site (`consoleSite`): absent by default; when
 * on, a private bucket that only CloudFront reads (OAC), an HTTPS distribution
 * with a root object and security headers, the HTTP API's CORS open to that
 * origin alone, a `ConsoleUrl` output, and the files deployed with the stage's
 * addresses in index.html. The files are read back from the synthesized
 * assets, as the deployment's handler gets them.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConsoleConfig } from '../../contract/console';
import { STACK_OUTPUTS, flagParameterName, scheduleGroupName, stackName } from '../../contract/naming';
import { httpRoutes } from '../../contract/routes';
import { flattenReference } from '../../lib/constructs/nag';
import { PriorityDispatchStack } from '../../lib/priority-dispatch-stack';
import { TEST_ISSUER, buildApp, buildStack, logicalId } from './synth-helpers';

type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: string | string[]; DeletionPolicy?: string }>;

describe('off (the default)', () => {
  const { template } = buildStack();

  it('creates no bucket, distribution or deployment, no CORS on the HTTP API and no ConsoleUrl', () => {
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    template.resourceCountIs('Custom::CDKBucketDeployment', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP', CorsConfiguration: Match.absent() });
    expect(Object.keys(template.toJSON().Outputs)).not.toContain(STACK_OUTPUTS.consoleUrl);
  });
});

describe('on', () => {
  // Its own assembly directory: the deployment's assets (the AWS CLI layer alone is 22 MB) are removed afterwards.
  const outdir = mkdtempSync(join(tmpdir(), 'priority-dispatch-console-site-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  const app = buildApp(outdir);
  const stack = new PriorityDispatchStack(app, stackName('dev'), { jwtIssuer: TEST_ISSUER, consoleSite: true });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;
  const site = stack.consoleSite!;
  const bucketId = logicalId(site.bucket);
  const distributionId = logicalId(site.distribution);
  const distributionDomain = { 'Fn::GetAtt': [distributionId, 'DomainName'] };
  const distributionConfig = () => resources[distributionId]!.Properties!.DistributionConfig;

  it('keeps the files in a private, encrypted bucket that refuses plain HTTP and that only this distribution reads', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
    const [policy] = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    const statements = policy!.Properties.PolicyDocument.Statement as { Condition?: unknown }[];
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Condition: { StringEquals: { 'AWS:SourceArn': expect.anything() } },
      }),
    ]);
    expect(JSON.stringify(statements[1]!.Condition)).toContain(`{"Ref":"${distributionId}"}`);
  });

  it('serves the bucket through Origin Access Control, not a public website endpoint or an OAI', () => {
    const [origin] = distributionConfig().Origins;
    expect(origin.DomainName).toEqual({ 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] });
    expect(origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Id'] });
    expect(origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
  });

  it('answers over HTTPS only (HTTP is redirected), with index.html at the root and security headers', () => {
    const config = distributionConfig();
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    const policyId = config.DefaultCacheBehavior.ResponseHeadersPolicyId.Ref as string;
    const headers = resources[policyId]!.Properties!.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(headers.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 31_536_000, Override: true });
    expect(headers.FrameOptions).toMatchObject({ FrameOption: 'DENY' });
    expect(headers.ContentTypeOptions).toMatchObject({ Override: true });
    const csp = flattenReference(headers.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain('connect-src https://*.execute-api.<AWS::Region>.<AWS::URLSuffix> wss://*.execute-api.<AWS::Region>.<AWS::URLSuffix>');
  });

  it("lets the HTTP API's CORS admit the distribution's origin and no other", () => {
    const api = resources[logicalId(stack.apis.httpApi)]!.Properties!;
    expect(api.CorsConfiguration).toEqual({
      AllowOrigins: [{ 'Fn::Join': ['', ['https://', distributionDomain]] }],
      AllowMethods: [...new Set(httpRoutes.map((route) => route.method))],
      AllowHeaders: ['authorization', 'content-type'],
      MaxAge: 3600,
    });
  });

  it('outputs the console URL', () => {
    expect(template.toJSON().Outputs[STACK_OUTPUTS.consoleUrl].Value).toEqual({ 'Fn::Join': ['', ['https://', distributionDomain, '/']] });
  });

  it('deploys index.html with the config of this stage (mode aws, the APIs of this stack, its names), app.js and style.css', () => {
    const files = deployedFiles(outdir, resources);

    expect(Object.keys(files).sort()).toEqual(['app.js', 'index.html', 'style.css']);
    const config = JSON.parse(/<script id="config" type="application\/json">(.*?)<\/script>/.exec(files['index.html']!)![1]!) as ConsoleConfig;
    const executeApi = (apiId: string) => `${`<${apiId}>`}.execute-api.<AWS::Region>.<AWS::URLSuffix>`;
    expect(config).toEqual({
      mode: 'aws',
      stage: 'dev',
      httpApiUrl: `https://${executeApi(logicalId(stack.apis.httpApi))}/`,
      wsUrl: `wss://${executeApi(logicalId(stack.apis.webSocketApi))}/dev`,
      aws: {
        region: '<AWS::Region>',
        flagParameterName: flagParameterName('dev'),
        scheduleGroupName: scheduleGroupName('dev'),
        tableName: `<${logicalId(stack.data.table)}>`,
        intakeFunctionName: `<${logicalId(stack.node.findChild('IntakeStart').node.findChild('Function'))}>`,
      },
    });
    expect(files['app.js']).toContain('customElements.define("pd-customer"');
    expect(files['style.css']!.length).toBeGreaterThan(0);
  });

  it('empties the bucket when the site is removed, and lets browsers revalidate every file', () => {
    expect(resources[bucketId]!.DeletionPolicy).toBe('Delete');
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      RetainOnDelete: false,
      Prune: true,
      SystemMetadata: { 'cache-control': 'no-cache' },
      DistributionId: { Ref: distributionId },
      DistributionPaths: ['/*'],
    });
  });

  it('has no circular dependency between its resources (CloudFormation would refuse the template)', () => {
    expect(cycleIn(resources)).toBeUndefined();
  });
});

/** Each deployed file as the handler writes it: its source's markers replaced by what they stand for, `<LogicalId>` or `<AWS::Region>`. */
function deployedFiles(outdir: string, resources: Resources): Record<string, string> {
  const [deployment] = Object.values(resources).filter((resource) => resource.Type === 'Custom::CDKBucketDeployment');
  const { SourceObjectKeys: keys, SourceMarkers: markers } = deployment!.Properties as { SourceObjectKeys: string[]; SourceMarkers: Record<string, unknown>[] };
  const files: Record<string, string> = {};
  keys.forEach((key, i) => {
    const dir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
    expect(existsSync(dir), dir).toBe(true);
    for (const name of readdirSync(dir)) {
      let text = readFileSync(join(dir, name), 'utf8');
      for (const [marker, value] of Object.entries(markers[i] ?? {})) text = text.replaceAll(marker, flattenReference(value));
      files[name] = text;
    }
  });
  return files;
}

/** A cycle of references (Ref, Fn::GetAtt, DependsOn) between the template's resources, if there is one. */
function cycleIn(resources: Resources): string[] | undefined {
  const references = (node: unknown, found: Set<string>): Set<string> => {
    if (Array.isArray(node)) for (const item of node) references(item, found);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'Ref' && typeof value === 'string' && value in resources) found.add(value);
        else if (key === 'Fn::GetAtt' && Array.isArray(value) && value[0] in resources) found.add(value[0] as string);
        else references(value, found);
      }
    }
    return found;
  };
  const edges = new Map(
    Object.entries(resources).map(([id, resource]) => [id, [...references(resource.Properties, new Set([resource.DependsOn ?? []].flat()))]]),
  );
  const done = new Set<string>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (path.includes(id)) return [...path.slice(path.indexOf(id)), id];
    if (done.has(id)) return undefined;
    for (const next of edges.get(id) ?? []) {
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    done.add(id);
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}
