/**
 * THE manifest: every Lambda handler, what it may touch, and the HTTP and
 * WebSocket routes that reach it. The CDK stack builds functions, grants and
 * routes from it; the sandbox loads the same handler files from it. To follow
 * any behaviour: find its route here, open the handler, follow its use case.
 *
 * Plain data only (no aws-cdk-lib import): the stack, the functions and the
 * sandbox all read it (contract/ imports nothing outside contract/).
 */

/** DynamoDB actions a function may call on the table and its indexes. */
export type TableAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query';

export interface FunctionSpec {
  /** Handler file, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Table actions granted (least privilege); omitted = no table access. */
  readonly table?: readonly TableAction[];
  /** Reads the feature flag parameter. */
  readonly readsFlag?: boolean;
  /** Posts to / deletes WebSocket connections through the `@connections` API. */
  readonly pushes?: boolean;
  /** Creates fallback schedules (and so may pass the scheduler role). */
  readonly createsSchedules?: boolean;
  /** Deletes fallback schedules. */
  readonly deletesSchedules?: boolean;
  /** Verifies JWTs itself (the WebSocket `$connect` authorizer). */
  readonly verifiesJwt?: boolean;
}

/**
 * Table actions, audited per use case (each line says which calls need them).
 * The sandbox does not enforce IAM, so keep these in step with the adapters.
 */
/** Creates the session and request (Put), reads the favorite (Get), routes (Query), records (Update), prunes gone connections (Delete). */
const ROUTES_A_REQUEST = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'] as const;
/** Reads and conditionally changes an existing request (Get, Update), tells the offered mechanics (Query, Delete on 410). */
const CHANGES_A_REQUEST = ['GetItem', 'UpdateItem', 'DeleteItem', 'Query'] as const;

export const functions = {
  intakeStart: {
    entry: 'lambdas/handlers/intake-start.ts',
    description: 'POST /intake/start: store the booking; fulfil free, trial and credit plans at once',
    table: ROUTES_A_REQUEST,
    readsFlag: true,
    pushes: true,
    createsSchedules: true,
    // Releases its routing guard; drops a fallback schedule whose offer reached nobody.
    deletesSchedules: true,
  },
  checkoutComplete: {
    entry: 'lambdas/handlers/checkout-complete.ts',
    description: 'POST /sessions/{id}/checkout/complete: fulfil a paid session (idempotent)',
    table: ROUTES_A_REQUEST,
    readsFlag: true,
    pushes: true,
    createsSchedules: true,
    deletesSchedules: true,
  },
  cancelSession: {
    entry: 'lambdas/handlers/cancel-session.ts',
    description: 'POST /sessions/{id}/cancel: cancel a pending request and tell the offered mechanics',
    table: CHANGES_A_REQUEST,
    pushes: true,
    deletesSchedules: true,
  },
  getSession: {
    entry: 'lambdas/handlers/get-session.ts',
    description: 'GET /sessions/{id}: the session, its request and audit trail, for its owner',
    table: ['GetItem'],
  },
  putMechanic: {
    entry: 'lambdas/handlers/put-mechanic.ts',
    description: 'PUT /mechanics/{id}: admin upsert of a mechanic; suspension drops live connections',
    // Put the mechanic; find their connections (Query) to drop (Delete) or re-home (Update) them.
    table: ['PutItem', 'UpdateItem', 'DeleteItem', 'Query'],
    pushes: true,
  },
  wsAuthorizer: {
    entry: 'lambdas/handlers/ws-authorizer.ts',
    description: 'WebSocket $connect authorizer: JWT from ?token=, mechanic must be approved',
    table: ['GetItem'],
    verifiesJwt: true,
  },
  wsConnect: {
    entry: 'lambdas/handlers/ws-connect.ts',
    description: 'WebSocket $connect: index the connection',
    table: ['PutItem'],
  },
  wsDisconnect: {
    entry: 'lambdas/handlers/ws-disconnect.ts',
    description: 'WebSocket $disconnect: remove the connection from the index',
    table: ['DeleteItem'],
  },
  wsDefault: {
    entry: 'lambdas/handlers/ws-default.ts',
    description: 'WebSocket $default: answer unknown or malformed messages with an error event',
    pushes: true,
  },
  wsPing: {
    entry: 'lambdas/handlers/ws-ping.ts',
    description: 'WebSocket ping: answer pong',
    pushes: true,
  },
  wsAccept: {
    entry: 'lambdas/handlers/ws-accept.ts',
    description: 'WebSocket accept: first conditional write wins the request',
    table: CHANGES_A_REQUEST,
    pushes: true,
    deletesSchedules: true,
  },
  wsDecline: {
    entry: 'lambdas/handlers/ws-decline.ts',
    description: "WebSocket decline: the favorite's decline ends the priority window now",
    table: CHANGES_A_REQUEST,
    pushes: true,
    deletesSchedules: true,
  },
  finishRouting: {
    entry: 'lambdas/handlers/finish-routing.ts',
    description: 'Scheduler target: finish a routing whose intake or checkout invocation died half-way',
    table: ROUTES_A_REQUEST,
    readsFlag: true,
    pushes: true,
    createsSchedules: true,
    deletesSchedules: true,
  },
  runFallback: {
    entry: 'lambdas/handlers/run-fallback.ts',
    description: 'Scheduler target: broadcast a priority request nobody took in its window',
    // The claim and the audit are conditional Updates (returning the item); broadcast = Query, prune = Delete.
    table: ['UpdateItem', 'DeleteItem', 'Query'],
    pushes: true,
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof functions;

/** `customer`: any valid JWT. `admin`: a valid JWT whose scopes include `ADMIN_SCOPE` (contract/scopes.ts). */
export type HttpAuth = 'customer' | 'admin';

export interface HttpRoute {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** API Gateway path with `{param}` placeholders. */
  readonly path: string;
  readonly function: FunctionName;
  readonly auth: HttpAuth;
}

export const httpRoutes: readonly HttpRoute[] = [
  { method: 'POST', path: '/intake/start', function: 'intakeStart', auth: 'customer' },
  { method: 'POST', path: '/sessions/{id}/checkout/complete', function: 'checkoutComplete', auth: 'customer' },
  { method: 'POST', path: '/sessions/{id}/cancel', function: 'cancelSession', auth: 'customer' },
  { method: 'GET', path: '/sessions/{id}', function: 'getSession', auth: 'customer' },
  { method: 'PUT', path: '/mechanics/{id}', function: 'putMechanic', auth: 'admin' },
];

export interface WebSocketRoute {
  /** `$connect`, `$disconnect`, `$default` or a value of the `action` field. */
  readonly routeKey: string;
  readonly function: FunctionName;
}

/** Route selection is on `$request.body.action`, as in DESIGN §3. */
export const WEBSOCKET_ROUTE_SELECTION = '$request.body.action';

export const webSocketRoutes: readonly WebSocketRoute[] = [
  { routeKey: '$connect', function: 'wsConnect' },
  { routeKey: '$disconnect', function: 'wsDisconnect' },
  { routeKey: '$default', function: 'wsDefault' },
  { routeKey: 'accept', function: 'wsAccept' },
  { routeKey: 'decline', function: 'wsDecline' },
  { routeKey: 'ping', function: 'wsPing' },
];

/** The REQUEST authorizer on `$connect`; a handshake without `?token=` is refused before it runs. */
export const webSocketAuthorizer = {
  function: 'wsAuthorizer',
  identitySource: 'route.request.querystring.token',
} as const satisfies { function: FunctionName; identitySource: string };

/**
 * The functions the durable schedules invoke: the priority fallback (input
 * `{"request_id": …}`) and the routing guard (input `{"session_id": …}`).
 */
export const scheduleTargets = { fallback: 'runFallback', routingGuard: 'finishRouting' } as const satisfies Record<string, FunctionName>;

export const isScheduleTarget = (name: FunctionName): boolean => (Object.values(scheduleTargets) as FunctionName[]).includes(name);
