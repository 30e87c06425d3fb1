/**
 * The two front doors, built from the manifest in contract/routes.ts. What flows
 * through here: customers and admins call the HTTP API with a JWT that API
 * Gateway checks itself (issuer, audience, and the admin scope on admin
 * routes); mechanics and customers open the WebSocket API with a single-use
 * `?ticket=` (from `POST /ws/ticket`) or a JWT in `?token=`, which the REQUEST
 * authorizer checks on `$connect` before any other route can be reached.
 * Both stages are throttled per route (contract/throttles.ts): every route
 * has the stage's default bucket, intake and accept/decline tighter ones.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnAuthorizer,
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { type FunctionName, WEBSOCKET_ROUTE_SELECTION, httpRouteKey, httpRoutes, webSocketAuthorizer, webSocketRoutes } from '../../contract/routes';
import { ADMIN_SCOPE } from '../../contract/scopes';
import { type StageThrottles, type Throttles, httpStageThrottles, webSocketStageThrottles } from '../../contract/throttles';
import { acknowledge } from './nag';

export interface ApisProps {
  /** Stage name: also the WebSocket stage's name, so the URL is `wss://…/<stage>`. */
  readonly stage: string;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  /** Every function of the manifest, by name. */
  readonly functions: Readonly<Record<FunctionName, IFunction>>;
  /** Route throttles of both stages (contract/throttles.ts). */
  readonly throttles: Throttles;
  /** Applies to the access log groups. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * WebSocket access logging needs the account-wide API Gateway CloudWatch
   * role (`AWS::ApiGateway::Account`). Create and register one; set `false`
   * when the account already manages it elsewhere.
   * @default true
   */
  readonly manageApiGatewayAccountRole?: boolean;
  /**
   * Origins whose pages may call the HTTP API from a browser (CORS), such as
   * the deployed console's `https://<id>.cloudfront.net`.
   * @default none: no CORS configuration, so browsers refuse other origins' calls
   */
  readonly browserOrigins?: readonly string[];
}

/** JSON access log lines, using only variables HTTP APIs support. */
const HTTP_ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    method: '$context.httpMethod',
    routeKey: '$context.routeKey',
    path: '$context.path',
    protocol: '$context.protocol',
    status: '$context.status',
    responseLength: '$context.responseLength',
    error: '$context.error.message',
    authorizerError: '$context.authorizer.error',
    integrationError: '$context.integrationErrorMessage',
  }),
);

/** JSON access log lines, using only variables WebSocket APIs support. */
const WEBSOCKET_ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    eventType: '$context.eventType',
    routeKey: '$context.routeKey',
    connectionId: '$context.connectionId',
    status: '$context.status',
    error: '$context.error.message',
    authorizerError: '$context.authorizer.error',
  }),
);

export class Apis extends Construct {
  readonly httpApi: HttpApi;
  readonly httpStage: HttpStage;
  readonly webSocketApi: WebSocketApi;
  readonly webSocketStage: WebSocketStage;

  constructor(scope: Construct, id: string, props: ApisProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const integrationFor = new Map<FunctionName, HttpLambdaIntegration>();
    /** Each route by its key: a stage's route settings may name only routes that exist, so it waits for them. */
    const routesByKey = new Map<string, IConstruct>();

    // ---- HTTP API: customers and admins -------------------------------------
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `priority-dispatch-${props.stage}`,
      description: 'priority-dispatch customer and admin API',
      // The default stage is created below, with access logging (cdk-nag APIG1).
      createDefaultStage: false,
      corsPreflight: props.browserOrigins?.length ? corsFor(props.browserOrigins) : undefined,
    });
    const httpThrottles = httpStageThrottles(props.throttles);
    this.httpStage = new HttpStage(this, 'HttpDefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: httpThrottles.defaultRoute,
      accessLogSettings: {
        destination: new LogGroupLogDestination(new LogGroup(this, 'HttpAccessLogs', { retention, removalPolicy })),
        format: HTTP_ACCESS_LOG_FORMAT,
      },
    });

    const jwt = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
      jwtAudience: [props.jwtAudience],
      identitySource: ['$request.header.Authorization'],
    });
    for (const route of httpRoutes) {
      let integration = integrationFor.get(route.function);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${capitalize(route.function)}Integration`, props.functions[route.function]);
        integrationFor.set(route.function, integration);
      }
      const added = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration,
        authorizer: jwt,
        authorizationScopes: route.auth === 'admin' ? [ADMIN_SCOPE] : undefined,
      });
      for (const httpRoute of added) routesByKey.set(httpRouteKey(route), httpRoute);
    }
    setRouteThrottles(this.httpStage, httpThrottles, routesByKey);

    // ---- WebSocket API: mechanics -------------------------------------------
    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', {
      apiName: `priority-dispatch-${props.stage}-mechanics`,
      description: 'priority-dispatch mechanic push channel',
      routeSelectionExpression: WEBSOCKET_ROUTE_SELECTION,
    });
    const authorizer = new WebSocketLambdaAuthorizer('ConnectAuthorizer', props.functions[webSocketAuthorizer.function]);
    for (const route of webSocketRoutes) {
      const isConnect = route.routeKey === '$connect';
      const added = this.webSocketApi.addRoute(route.routeKey, {
        integration: new WebSocketLambdaIntegration(`${routeId(route.routeKey)}Integration`, props.functions[route.function]),
        authorizer: isConnect ? authorizer : undefined,
      });
      routesByKey.set(route.routeKey, added);
      if (isConnect) withoutIdentitySource(added);
      else {
        acknowledge(
          added,
          'AwsSolutions-APIG4',
          'API Gateway WebSocket APIs accept an authorizer on $connect only; this route is reachable solely over a connection that the $connect REQUEST authorizer has already admitted.',
        );
      }
    }

    let accountRegistration: CfnAccount | undefined;
    if (props.manageApiGatewayAccountRole ?? true) {
      accountRegistration = this.registerCloudWatchRole();
    }
    const webSocketThrottles = webSocketStageThrottles(props.throttles);
    this.webSocketStage = new WebSocketStage(this, 'WebSocketStage', {
      webSocketApi: this.webSocketApi,
      stageName: props.stage,
      autoDeploy: true,
      throttle: webSocketThrottles.defaultRoute,
      accessLogSettings: {
        destination: new LogGroupLogDestination(new LogGroup(this, 'WebSocketAccessLogs', { retention, removalPolicy })),
        format: WEBSOCKET_ACCESS_LOG_FORMAT,
      },
    });
    if (accountRegistration) this.webSocketStage.node.addDependency(accountRegistration);
    setRouteThrottles(this.webSocketStage, webSocketThrottles, routesByKey);
  }

  /**
   * The account-level role API Gateway uses to write WebSocket (and REST)
   * logs. It is a per-account, per-region setting, so it is retained on stack
   * deletion: deleting it would break logging for every API that relies on it.
   */
  private registerCloudWatchRole(): CfnAccount {
    const role = new Role(this, 'ApiGatewayCloudWatchRole', {
      description: 'API Gateway account setting: lets API Gateway write WebSocket access logs to CloudWatch Logs',
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    acknowledge(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'AWS documents this managed policy as the one for the API Gateway account logging role; it is assumable only by apigateway.amazonaws.com and AWS keeps it in step with what API Gateway logging needs.',
    );
    const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return account;
  }
}

/**
 * API Gateway answers the preflight itself and adds these headers to the integration's answers
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html): the listed origins
 * only, the methods of the routes, and the two headers the console sends (the JWT and the JSON body's type).
 */
const corsFor = (origins: readonly string[]) => ({
  allowOrigins: [...origins],
  allowMethods: [...new Set(httpRoutes.map((route) => CorsHttpMethod[route.method]))],
  allowHeaders: ['authorization', 'content-type'],
  maxAge: Duration.hours(1),
});

/**
 * The routes with throttles of their own, as the stage's `RouteSettings` (the L2 stages set only the default route's).
 * A route's settings replace the default's wholesale, so each names both limits. CloudFormation refuses settings for a
 * route key that does not exist yet, so the stage waits for those routes.
 */
function setRouteThrottles(stage: HttpStage | WebSocketStage, throttles: StageThrottles, routesByKey: ReadonlyMap<string, IConstruct>): void {
  const cfnStage = stage.node.defaultChild as CfnStage;
  cfnStage.routeSettings = Object.fromEntries(
    Object.entries(throttles.routes).map(([routeKey, throttle]) => {
      const route = routesByKey.get(routeKey);
      if (!route) throw new Error(`No route ${routeKey} to throttle on stage ${stage.stageName}`);
      cfnStage.node.addDependency(route);
      return [routeKey, { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit }];
    }),
  );
}

/**
 * The `$connect` authorizer takes `?ticket=` or `?token=`, so it names no identity source (contract/routes.ts
 * `webSocketAuthorizer`): the property is left out, as CreateAuthorizer allows for a REQUEST authorizer. The CDK
 * construct has no way to say "none" (it defaults to the Authorization header), hence the override.
 */
function withoutIdentitySource(connectRoute: Construct): void {
  const authorizers = connectRoute.node.scope!.node.findAll().filter((c): c is CfnAuthorizer => c instanceof CfnAuthorizer && c.authorizerType === 'REQUEST');
  if (authorizers.length !== 1) throw new Error(`expected the one $connect REQUEST authorizer, found ${authorizers.length}`);
  authorizers[0]!.addPropertyDeletionOverride('IdentitySource');
}

const capitalize = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

/** `$connect` → `Connect`, `accept` → `Accept`: construct ids without `$`. */
const routeId = (routeKey: string): string => capitalize(routeKey.replace(/^\$/, ''));
