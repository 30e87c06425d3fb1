/**
 * The web console (console/) as a static site, for a stage deployed with
 * `consoleSite`: a private S3 bucket that only CloudFront reads (Origin Access
 * Control), a CloudFront distribution serving it over HTTPS with security
 * headers, and the files themselves, built at synth by the same functions the
 * sandbox uses (lib/console-bundle.ts) and copied in by a BucketDeployment with
 * the stage's addresses written into index.html. The page then calls the
 * stage's HTTP API from the distribution's origin, which the API allows by
 * CORS (lib/constructs/apis.ts `browserOrigins`).
 *
 * Built in two steps because the two depend on each other's names: the
 * distribution's origin goes into the HTTP API's CORS, the HTTP API's URL into
 * the page. The constructor makes the bucket and the distribution; `publish`
 * adds the files once the APIs exist.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { ConsoleConfig } from '../../contract/console';
import { bundleConsoleSync, readConsoleFiles, withConfig } from '../console-bundle';
import { acknowledge, acknowledgeWildcardResource } from './nag';

export interface ConsoleSiteProps {
  /** Part of the distribution's comment, to tell stages apart in the CloudFront console. */
  readonly stage: string;
  /** Applies to the deployment function's log group (the bucket holds only build output and always goes with the site). @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** app.js, built once per process: several stacks synthesized in one test process share it (a build takes about half a second). */
let appJs: Uint8Array | undefined;

export class ConsoleSite extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** `https://<id>.cloudfront.net`: where browsers load the console, and so the origin its API calls come from. */
  readonly origin: string;
  /** The console's address, `<origin>/`. */
  readonly url: string;
  private readonly removalPolicy: RemovalPolicy;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // Only build output lives here, deployed again by every `cdk deploy`: nothing to keep when the site goes
    // (the deployment below empties it first, `retainOnDelete: false`).
    this.bucket = new Bucket(this, 'Files', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      "The bucket holds only the console's build output, written by this stack's deployment and read only by CloudFront through Origin Access Control: its access log would list CloudFront's origin fetches and nothing about users. What users do goes through the two APIs, which keep access logs.",
    );

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `priority-dispatch ${props.stage} web console`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.securityHeaders(),
        compress: true,
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      // A console for a team's operators and testers: the cheapest edge locations (North America, Europe, Israel);
      // a browser elsewhere is served from the nearest of them, a little slower.
      priceClass: PriceClass.PRICE_CLASS_100,
    });
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR1',
      'Mechanics and customers may work from any country and the product has no country policy to enforce; the pages are static and every action behind them needs a valid JWT at the APIs.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR2',
      'The distribution serves three static files and runs no code; the requests that reach the product go to the APIs, which are throttled per stage and route. A WAF web ACL (a monthly fee plus per-request charges) is left to accounts that put one in front of every distribution.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR3',
      'Viewer logs of three static files say little: what users do goes through the two APIs, which keep access logs. Standard logging would also need a log bucket with ACLs enabled, kept and paid for apart from this site.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR4',
      "The distribution uses CloudFront's default *.cloudfront.net certificate, for which CloudFront fixes the security policy (TLSv1); a minimum TLS version can only be chosen with a custom domain and its own ACM certificate, which this stack does not manage.",
    );

    this.origin = `https://${this.distribution.distributionDomainName}`;
    this.url = `${this.origin}/`;
  }

  /** Copies the console into the bucket, its config written into index.html, and clears CloudFront's cache of it. */
  publish(config: ConsoleConfig): BucketDeployment {
    appJs ??= bundleConsoleSync('site');
    const { indexHtml, styleCss } = readConsoleFiles();
    const deployment = new BucketDeployment(this, 'Deployment', {
      destinationBucket: this.bucket,
      sources: [
        // The config holds deploy-time values (the APIs' URLs, the region): jsonEscape writes each as JSON string content.
        Source.data('index.html', withConfig(indexHtml, config), { jsonEscape: true }),
        Source.data('app.js', new TextDecoder().decode(appJs)),
        Source.data('style.css', styleCss.toString('utf8')),
      ],
      // Browsers revalidate each file on load (a 304 when unchanged), and a deploy invalidates the edge caches:
      // a new page never runs with an old app.js.
      cacheControl: [CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      retainOnDelete: false,
      logGroup: new LogGroup(this, 'DeploymentLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: this.removalPolicy }),
    });
    this.acknowledgeDeploymentHandler(deployment);
    return deployment;
  }

  /**
   * BucketDeployment copies the files with a Lambda function that aws-cdk-lib writes, grants and keeps at
   * the stack's root (one for every deployment in the stack). What it is given is aws-cdk-lib's choice.
   */
  private acknowledgeDeploymentHandler(deployment: BucketDeployment): void {
    const handler = deployment.handlerRole.node.scope!;
    const asset = deployment.node.children.find((child): child is Asset => child instanceof Asset)!;
    acknowledge(
      handler,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "aws-cdk-lib gives BucketDeployment's handler the AWS managed basic execution role: it lets the function write its own log lines and nothing else.",
    );
    for (const action of ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*']) {
      acknowledge(
        handler,
        `AwsSolutions-IAM5[Action::${action}]`,
        "aws-cdk-lib's grants for BucketDeployment's handler (bucket.grantRead on the assets, grantReadWrite on the site bucket), limited to those two buckets: it reads the zipped files and replaces the site's objects, deleting those a new build no longer has.",
      );
    }
    acknowledgeWildcardResource(
      handler,
      asset.bucket.arnForObjects('*'),
      "The CDK assets bucket's objects: the handler reads the zipped console files, whose keys are content hashes known only at synth.",
    );
    acknowledgeWildcardResource(
      handler,
      this.bucket.arnForObjects('*'),
      "The site bucket's objects: every deploy replaces the console's files and deletes those the new build no longer has (prune).",
    );
    acknowledge(
      handler,
      'AwsSolutions-IAM5[Resource::*]',
      "aws-cdk-lib grants BucketDeployment's handler cloudfront:CreateInvalidation and GetInvalidation on every distribution; it invalidates only the one distribution id this deployment passes it.",
    );
    acknowledge(
      handler,
      'AwsSolutions-L1',
      "The runtime of BucketDeployment's handler (Python) is aws-cdk-lib's, which moves it forward with its own releases; the function runs only while CloudFormation deploys the site.",
    );
  }

  /**
   * Security headers on every answer. The page loads its own script and stylesheet only, and connects to the
   * stage's APIs, named by wildcard: their ids cannot appear here, as the HTTP API's CORS already refers to this
   * distribution (a circular dependency).
   */
  private securityHeaders(): ResponseHeadersPolicy {
    const apis = `*.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;
    return new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'priority-dispatch web console: CSP, HSTS, no framing, no sniffing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            `connect-src https://${apis} wss://${apis}`,
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
          ].join('; '),
          override: true,
        },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
  }
}
