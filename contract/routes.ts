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
export type TableAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'BatchGetItem';

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
  /** Sets request timers: creates and updates their schedules (and so may pass the scheduler role). */
  readonly setsTimers?: boolean;
  /** Clears request timers: deletes their schedules. */
  readonly clearsTimers?: boolean;
  /** Reads whether a request's timer is still set (GetSchedule): the timer tells an ending that finished from one that died. */
  readonly readsTimers?: boolean;
  /** Verifies JWTs itself (the WebSocket `$connect` authorizer). */
  readonly verifiesJwt?: boolean;
  /** Hands messages for many mechanics to the fan-out function (`InvocationType: Event`). */
  readonly fansOut?: boolean;
  /** Holds a customer to `maxOpenBookingsPerCustomer` open bookings (the intake): gets the limit in its environment. */
  readonly limitsOpenBookings?: boolean;
  /** The function's timeout. @default 29 (API Gateway's integration limit) */
  readonly timeoutSeconds?: number;
  /** Memory (and so CPU). @default 1024 for functions that push (CPU-bound SDK work), else 256 */
  readonly memoryMb?: number;
  /**
   * A WebSocket message route that counts each message against the connection's limit (`MESSAGE_RATE_LIMIT`) before
   * doing anything: its handler is a `countedMessageHandler`, and its table actions include UpdateItem.
   */
  readonly countsMessages?: boolean;
}

/** A function's timeout when the manifest gives none: API Gateway gives up on an integration after 29 s. */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 29;

/** The timeout the stack configures and the sandbox enforces. */
export const timeoutSecondsOf = (spec: FunctionSpec): number => spec.timeoutSeconds ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS;

/** The memory the stack configures (and the sandbox reports): pushing is CPU-bound SDK work (DESIGN §6), and Lambda CPU scales with memory. */
export const memoryMbOf = (spec: FunctionSpec): number => spec.memoryMb ?? (spec.pushes ? 1024 : 256);

/**
 * Table actions, audited per use case (each line says which calls need them).
 * The sandbox does not enforce IAM, so keep these in step with the adapters.
 */
/**
 * Reads the booking (Get), moves it (Update), reads the favorite (Get) and their connections (Query), prunes gone ones
 * (Delete); an ending also releases the booking from its customer's open bookings (Update).
 */
const MOVES_A_BOOKING = ['GetItem', 'UpdateItem', 'DeleteItem', 'Query'] as const;
/** …and creates the booking (Put), after holding it among the customer's open bookings (Update; on a refusal, Get of that list and of its bookings). */
const BOOKS = ['PutItem', ...MOVES_A_BOOKING] as const;

export const functions = {
  intakeStart: {
    entry: 'lambdas/handlers/intake-start.ts',
    description: 'POST /intake/start: store the booking; route free, trial and credit plans at once',
    table: BOOKS,
    readsFlag: true,
    pushes: true,
    fansOut: true,
    setsTimers: true,
    limitsOpenBookings: true,
  },
  checkoutComplete: {
    entry: 'lambdas/handlers/checkout-complete.ts',
    description: 'POST /sessions/{id}/checkout/complete: route a paid booking (idempotent)',
    table: MOVES_A_BOOKING,
    readsFlag: true,
    pushes: true,
    fansOut: true,
    setsTimers: true,
    // Clears the timer it armed when a cancel won the race.
    clearsTimers: true,
  },
  cancelSession: {
    entry: 'lambdas/handlers/cancel-session.ts',
    description: 'POST /sessions/{id}/cancel: cancel the booking and tell the mechanics it was offered to',
    table: MOVES_A_BOOKING,
    pushes: true,
    fansOut: true,
    clearsTimers: true,
    // A repeated cancel checks whether the first one finished (it clears the timer last).
    readsTimers: true,
  },
  getSession: {
    entry: 'lambdas/handlers/get-session.ts',
    description: 'GET /sessions/{id}: the booking, its request state and audit trail, for its owner',
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
    description:
      'WebSocket $connect authorizer: a single-use ?ticket= (consumed: Delete) or a JWT in ?token=; a mechanic must be approved (Get); a customer is any valid JWT',
    table: ['GetItem', 'DeleteItem'],
    verifiesJwt: true,
  },
  wsTicket: {
    entry: 'lambdas/handlers/ws-ticket.ts',
    description: 'POST /ws/ticket: a single-use, 60-second WebSocket connect ticket bound to the caller and role (Put)',
    table: ['PutItem'],
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
    table: MOVES_A_BOOKING,
    pushes: true,
    countsMessages: true,
    fansOut: true,
    clearsTimers: true,
  },
  wsDecline: {
    entry: 'lambdas/handlers/ws-decline.ts',
    description: "WebSocket decline: the favorite's decline ends the priority window now",
    table: MOVES_A_BOOKING,
    pushes: true,
    countsMessages: true,
    fansOut: true,
    setsTimers: true,
  },
  wsAvailability: {
    entry: 'lambdas/handlers/ws-availability.ts',
    description: 'WebSocket pause and resume: the mechanic stops or starts getting offers, on every device',
    // Set `paused` on the mechanic and on each connection (Update), found by a Query of the mechanic's connections.
    table: ['UpdateItem', 'Query'],
    pushes: true,
    countsMessages: true,
  },
  wsSync: {
    entry: 'lambdas/handlers/ws-sync.ts',
    description: "WebSocket sync: everything a mechanic may act on now (offers), or a customer's latest bookings (sessions), after every reconnect",
    // Read the mechanic (Get: paused?), Query the pending requests of each of their audiences, read their declines of those by key (BatchGetItem);
    // count the message (Update of its per-second counter).
    table: ['GetItem', 'Query', 'BatchGetItem', 'UpdateItem'],
    pushes: true,
    countsMessages: true,
  },
  requestTimer: {
    entry: 'lambdas/handlers/request-timer.ts',
    description: "Scheduler target: each request's one timer: finish an undone routing, end the window, expire the request",
    table: MOVES_A_BOOKING,
    pushes: true,
    fansOut: true,
    setsTimers: true,
    clearsTimers: true,
    readsTimers: true,
    // Waits up to two minutes for its deadline (Scheduler's 60 s precision), then works.
    timeoutSeconds: 180,
    // That wait is billed by memory × time, and its work is a few calls (a broadcast goes to the fan-out).
    memoryMb: 256,
  },
  fanOut: {
    entry: 'lambdas/handlers/fan-out.ts',
    description: 'Asynchronous target: deliver one message to an audience, everyone split into one invocation per connection shard',
    // Query a shard (or workshop, or mechanic); prune gone connections.
    table: ['Query', 'DeleteItem'],
    pushes: true,
    // Splits `everyone` into shard invocations of itself.
    fansOut: true,
    timeoutSeconds: 120,
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

/** `POST /intake/start`: how API Gateway names an HTTP route (route settings, access logs, the event's `routeKey`). */
export const httpRouteKey = (route: Pick<HttpRoute, 'method' | 'path'>): string => `${route.method} ${route.path}`;

export const httpRoutes: readonly HttpRoute[] = [
  { method: 'POST', path: '/intake/start', function: 'intakeStart', auth: 'customer' },
  { method: 'POST', path: '/sessions/{id}/checkout/complete', function: 'checkoutComplete', auth: 'customer' },
  { method: 'POST', path: '/sessions/{id}/cancel', function: 'cancelSession', auth: 'customer' },
  { method: 'GET', path: '/sessions/{id}', function: 'getSession', auth: 'customer' },
  { method: 'PUT', path: '/mechanics/{id}', function: 'putMechanic', auth: 'admin' },
  // `customer` = any valid JWT, so a mechanic's token is taken too; the body's `role` says which connection the ticket opens.
  { method: 'POST', path: '/ws/ticket', function: 'wsTicket', auth: 'customer' },
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
  { routeKey: 'pause', function: 'wsAvailability' },
  { routeKey: 'resume', function: 'wsAvailability' },
  { routeKey: 'ping', function: 'wsPing' },
  { routeKey: 'sync', function: 'wsSync' },
];

/**
 * What a customer's connection (`role=customer`) may send (DESIGN §3); every
 * other action is a mechanic's, and a customer sending one gets an `error`
 * event `forbidden_for_customers` and nothing else happens
 * (lambdas/handlers/shared/websocket.ts `messageHandler`).
 */
export const CUSTOMER_ACTIONS: readonly string[] = ['ping', 'sync'];

/**
 * The functions that count each message against the connection's limit: every message route that reads or writes the
 * table or fans out. `ping` and `$default` do not count: each does no more than one push back, which a count (one
 * more write) would double, and their floods are bounded by the stage's route throttle (contract/throttles.ts).
 */
export const messageFunctions: readonly FunctionName[] = (Object.keys(functions) as FunctionName[]).filter(
  (name) => (functions[name] as FunctionSpec).countsMessages,
);

/**
 * The REQUEST authorizer on `$connect`, with NO identity source: a handshake may carry `?ticket=` or `?token=`, and
 * API Gateway requires every identity source to be present (it answers 401 without calling the authorizer
 * otherwise), so naming either would refuse the other. Without one, the authorizer runs on every handshake and its
 * answer is never cached — which a single-use ticket needs anyway. WebSocket authorizers cache nothing
 * (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html: `identitySource` is
 * optional for a REQUEST authorizer; "Authorizer caching is not currently supported").
 */
export const webSocketAuthorizer = { function: 'wsAuthorizer' } as const satisfies { function: FunctionName };

/** The functions invoked asynchronously: the timer (by Scheduler, `{"request_id","due_at"}`) and the fan-out (by the others). */
export const asyncTargets = { timer: 'requestTimer', fanOut: 'fanOut' } as const satisfies Record<string, FunctionName>;

export const isAsyncTarget = (name: FunctionName): boolean => (Object.values(asyncTargets) as FunctionName[]).includes(name);
