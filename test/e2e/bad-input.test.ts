/**
 * Issue #4: generated malformed input against ONE started sandbox. Bodies,
 * headers, paths and tokens on every HTTP route of contract/routes.ts, and frames on
 * real WebSocket connections of an approved mechanic, must each get a 4xx in
 * the contract's shape (or API Gateway's own `{"message"}`) or an `error`
 * event: never a 5xx, a crash, a dropped connection, an ERROR log line, a
 * schedule or a written record. Oversized bodies and frames are refused with
 * the right status or close code.
 *
 * Inputs come from fast-check with a fixed seed; every failure message starts
 * with it. Reproduce with `BAD_INPUT_SEED=<seed> npx vitest run test/e2e/bad-input.test.ts`
 * (add `BAD_INPUT_DEBUG=1` to see whole bodies in the failures).
 * Requests go over raw TCP so headers and paths can carry bytes `fetch` refuses to send.
 */
import { connect } from 'node:net';
import { request } from 'node:http';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import fc from 'fast-check';
import { generateKeyPair, SignJWT } from 'jose';
import { WebSocket, type RawData } from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index';
import { DEV_AUDIENCE } from '../../sandbox/dev-auth';
import { httpRoutes, webSocketRoutes } from '../../contract/routes';
import { TICKET_ROLES } from '../../lambdas/domain/tickets';
import { awsClientConfig, eventually, startTestSandbox } from './clients';

/** The actions a route takes (contract/routes.ts): a frame naming one is a real message, not noise. */
const ROUTED_ACTIONS = webSocketRoutes.map((r) => r.routeKey).filter((key) => !key.startsWith('$'));

const SEED = Number(process.env.BAD_INPUT_SEED ?? 20_261_124);
const HTTP_CASES = 1_650;
const WS_FRAMES = 440;
const HANDSHAKES = 48;
const IN_FLIGHT = 16;
const HANDLER_BODY_LIMIT = 16 * 1024;
const GATEWAY_BODY_LIMIT = 10 * 1024 * 1024;
const FRAME_LIMIT = 128 * 1024;
const ISSUER = 'https://auth.sandbox.priority-dispatch.local';
/** `sent_at`, as every server message carries it: ISO 8601 in UTC with milliseconds. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const PLANS = ['free', 'trial', 'credit', 'paid'];
const ROUTING_TYPES = ['broadcast', 'priority_broadcast'];
const MECHANIC_STATUSES = ['approved', 'pending', 'suspended'];
const BOOKING_FIELDS = ['plan', 'concern', 'vehicle', 'preferred_mechanic_id', 'routing_type', 'workshop_id'];
const MECHANIC_FIELDS = ['status', 'name', 'workshop_id'];
const TICKET_FIELDS = ['role'];

let sandbox: Sandbox;
let baseline: Snapshot;
/** Connections a test opened: closed after it, whatever happened, so the next test starts from the baseline. */
const open: Mechanic[] = [];
/** Where the current test's log lines start. */
let logMark = 0;
const tally = {
  http: 0,
  frames: 0,
  errorEvents: 0,
  acceptResults: 0,
  handshakes: 0,
  oversized: 0,
  fiveXx: 0,
  parserRefusals: 0,
  recordsWritten: 0,
  schedulesCreated: 0,
  errorLogs: 0,
  gateway: 0,
  codes: new Map<string, number>(),
  byStatus: new Map<number, number>(),
};
const startedAt = Date.now();

beforeAll(async () => {
  // Flag on: a priority booking that slipped through would also leave a schedule behind.
  // Frames go out in batches as fast as the machine allows, many per connection a second: past the message limit the
  // extras would get no answer (by design; throttling.test.ts tests that), so here the limit is out of the way.
  sandbox = await startTestSandbox({ flag: 'on', messageRateLimit: 100_000 });
  baseline = await snapshot();
});

beforeEach(() => {
  logMark = sandbox.logs.length;
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

afterAll(async () => {
  await sandbox?.stop();
  const statuses = [...tally.byStatus]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status}:${n}`)
    .join(' ');
  const codes = [...tally.codes]
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${code}:${n}`)
    .join(' ');
  console.log(
    `[bad-input] seed=${SEED} http_requests=${tally.http} (${statuses}; handler codes ${codes}; ${tally.gateway} answered by the gateway, ${tally.parserRefusals} refused by Node's parser) oversized=${tally.oversized} ws_frames=${tally.frames} error_events=${tally.errorEvents} accept_results=${tally.acceptResults} ` +
      `handshakes=${tally.handshakes} 5xx=${tally.fiveXx} records_written=${tally.recordsWritten} schedules_created=${tally.schedulesCreated} error_logs=${tally.errorLogs} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
  );
});

// ---- what "nothing happened" means ------------------------------------------------------------

interface Snapshot {
  /** Every item but connections (and their message counts), as stored (a mechanic updated in place counts as written). */
  records: string[];
  connections: number;
  schedules: string[];
}

async function snapshot(): Promise<Snapshot> {
  const db = new DynamoDBClient(awsClientConfig(sandbox));
  const items: Record<string, AttributeValue>[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: sandbox.tableName, ConsistentRead: true, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  db.destroy();
  const scheduler = new SchedulerClient(awsClientConfig(sandbox));
  const { Schedules } = await scheduler.send(new ListSchedulesCommand({ GroupName: sandbox.scheduleGroupName }));
  scheduler.destroy();
  // A connection's items: the connection itself and its per-second message counts (which expire on their own).
  const ofConnection = (item: Record<string, AttributeValue>) => item.pk?.S?.startsWith('CONNECTION#') ?? false;
  return {
    records: items
      .filter((item) => !ofConnection(item))
      .map((item) => JSON.stringify(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))))
      .sort(),
    connections: items.filter((item) => ofConnection(item) && item.sk?.S === 'CONNECTION').length,
    schedules: (Schedules ?? []).map((s) => s.Name!).sort(),
  };
}

/** The handlers' ERROR lines (a 500 path logs "Unhandled error") and the gateways' own failure lines. */
const errorLines = (): string[] =>
  sandbox.logs.slice(logMark).filter((line) => {
    if (!line.startsWith('{')) return /gateway error|failed:/.test(line);
    try {
      return (JSON.parse(line) as { level?: string }).level === 'ERROR';
    } catch {
      return true;
    }
  });

async function expectNothingWritten(): Promise<void> {
  const now = await snapshot();
  const keys = (records: string[]) => records.map((r) => (JSON.parse(r) as [string, AttributeValue][]).find(([name]) => name === 'pk')?.[1].S);
  const added = now.records.filter((r) => !baseline.records.includes(r));
  const errors = errorLines();
  tally.recordsWritten += added.length;
  tally.schedulesCreated += now.schedules.filter((name) => !baseline.schedules.includes(name)).length;
  tally.errorLogs += errors.length;
  expect(keys(added), `seed ${SEED}: records written (or changed) by bad input`).toEqual([]);
  expect(now.records, `seed ${SEED}: records gone`).toEqual(baseline.records);
  expect(keys(now.records).filter((pk) => /^(SESSION|REQUEST)#/.test(pk ?? ''))).toEqual([]);
  expect(now.schedules, `seed ${SEED}: schedules created by bad input`).toEqual(baseline.schedules);
  expect(errors, `seed ${SEED}: ERROR log lines`).toEqual([]);
}

// ---- raw HTTP ---------------------------------------------------------------------------------

interface RawRequest {
  method: string;
  /** Sent as UTF-8 bytes, unescaped: what is not percent-encoded here goes on the wire raw. */
  path: string;
  headers: [string, string][];
  body: Buffer;
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parseAnswer(data: Buffer): { answer: RawAnswer; complete: boolean } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  if (!status) return undefined;
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const rest = data.subarray(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  return {
    answer: { status, headers, body: rest.subarray(0, length ?? rest.length).toString('utf8') },
    complete: length !== undefined && rest.length >= length,
  };
}

/** One request on its own connection (`Connection: close`); rejects only when no HTTP answer came back at all. */
function rawHttp(req: RawRequest, timeoutMs = 10_000): Promise<RawAnswer> {
  const port = new URL(sandbox.httpUrl).port;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseAnswer(Buffer.concat(chunks));
      if (parsed) resolve(parsed.answer);
      else reject(new Error(`no HTTP answer (${error?.message ?? 'connection closed'})`));
    };
    const timer = setTimeout(() => finish(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (parseAnswer(Buffer.concat(chunks))?.complete) finish();
    });
    socket.on('end', () => finish());
    socket.on('error', (error) => finish(error));
    const head = [
      `${req.method} ${req.path} HTTP/1.1`,
      `host: 127.0.0.1:${port}`,
      'connection: close',
      ...req.headers.map(([n, v]) => `${n}: ${v}`),
      `content-length: ${req.body.length}`,
    ];
    socket.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'utf8'), req.body]));
  });
}

async function inBatches<T, R>(items: readonly T[], limit: number, run: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await run(items[index]!, index);
      }
    }),
  );
  return results;
}

/** Every answer: below 500, one of the statuses this input may get, and in the contract's shape (or API Gateway's, or Node's empty parser refusal). */
function judge(answer: RawAnswer, allowed: readonly number[]): string | undefined {
  tally.byStatus.set(answer.status, (tally.byStatus.get(answer.status) ?? 0) + 1);
  if (answer.status >= 500) {
    tally.fiveXx++;
    return `a ${answer.status}`;
  }
  if (answer.headers['apigw-requestid'] === undefined) {
    // Refused by Node's HTTP parser before the gateway saw it (control characters in a header, a malformed request line).
    tally.parserRefusals++;
    return [400, 431].includes(answer.status) && answer.body === '' ? undefined : `a ${answer.status} without apigw-requestid`;
  }
  if (!allowed.includes(answer.status)) return `status ${answer.status}, expected one of ${allowed.join('/')}`;
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return `a body that is not JSON: ${answer.body.slice(0, 80)}`;
  }
  const keys = (value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value).sort().join(',') : '');
  if (keys(body) === 'message') {
    const gatewayOwn = [400, 401, 403, 404, 413].includes(answer.status) && typeof (body as { message: unknown }).message === 'string';
    if (gatewayOwn) tally.gateway++;
    return gatewayOwn ? undefined : `a gateway-shaped ${answer.status}: ${answer.body.slice(0, 80)}`;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
  const contract =
    keys(body) === 'error' &&
    keys(error) === 'code,message' &&
    typeof error!.code === 'string' &&
    /^[a-z_]+$/.test(error!.code) &&
    error!.code !== 'internal_error' &&
    typeof error!.message === 'string' &&
    error!.message.length > 0;
  if (!contract) return `not {"error":{"code","message"}}: ${answer.body.slice(0, 120)}`;
  tally.codes.set(error!.code as string, (tally.codes.get(error!.code as string) ?? 0) + 1);
  // DESIGN §3: a 400 names what is wrong — the field, or the body, the id or the header as a whole.
  if (answer.status === 400 && !NAMES_THE_FIELD.test(error!.message as string)) return `a 400 whose message names no field: ${error!.message as string}`;
  return undefined;
}

const NAMES_THE_FIELD = new RegExp(`^(${[...BOOKING_FIELDS, ...MECHANIC_FIELDS, ...TICKET_FIELDS, 'body', 'id', 'Idempotency-Key'].join('|')})\\b`);

const show = (value: unknown, max = 200): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
};

// ---- generators: bodies -----------------------------------------------------------------------

/** Unknown member names: never a field of the schema, so they cannot make a broken body valid. */
const junkName = (fields: string[]) =>
  fc
    .oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '$where', '$ne', 'pk', 'sk'), fc.string({ maxLength: 12 }))
    .filter((n) => !fields.includes(n));
const junkValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant({ plan: 'free', concern: 'polluted', status: 'approved', action: 'ping', isAdmin: true }),
  fc.constant({ prototype: { plan: 'free', concern: 'polluted', status: 'approved' } }),
);
const junkMembers = (fields: string[]) => fc.array(fc.tuple(junkName(fields), junkValue), { maxLength: 3 });

/** A JSON object text: the (broken) body, with junk members spliced in first so a duplicate name cannot override the break. */
function objectText(body: Record<string, unknown>, junk: [string, unknown][]): string {
  const rest = JSON.stringify(body);
  const members = junk.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`);
  if (!members.length) return rest;
  return `{${members.join(',')}${rest === '{}' ? '}' : `,${rest.slice(1)}`}`;
}

/** A JSON value of any type but the ones a field accepts (finite numbers only: JSON would turn Infinity into null). */
const wrongType = (...accepted: ('string' | 'object' | 'null')[]) =>
  fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
    ...(accepted.includes('object') ? [] : [fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })]),
    ...(accepted.includes('string') ? [] : [fc.string({ maxLength: 10 })]),
    ...(accepted.includes('null') ? [] : [fc.constant(null)]),
  );
const blank = fc.constantFrom('', ' ', '   \t\n', '\u00a0', '\u3000\u2028', '\ufeff');
/** `n` code points: zod's `.min`/`.max` count code points, not UTF-16 units ('🔧' is one, not two). */
const longString = (min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.constantFrom('x', 'é', '🔧', 'a ').map((c) => [...c.repeat(n)].slice(0, n).join('')));
const codePoints = (text: string): number => [...text].length;
const injection = fc.constantFrom(
  "' OR '1'='1",
  '1; DROP TABLE sessions; --',
  '{"$ne":null}',
  '{"$gt":""}',
  'SESSION#x',
  'MECHANIC#mech-bob',
  'REQUEST#req-1',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe, meant literally
  '${jndi:ldap://x}',
  '\u0000',
  'a b',
  'a/b',
  'a#b',
  'ménagé',
);
/** Ids the schema refuses: wrong type, empty, a character outside [A-Za-z0-9_.:@-], or longer than 128. */
const badId = fc.oneof(
  wrongType('string', 'null'),
  fc.constant(''),
  injection,
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.constantFrom('#', '/', ' ', 'é', '\n', '"', '$', '%', '💥'), fc.string({ maxLength: 10 }))
    .map(([a, c, b]) => a + c + b),
  fc.integer({ min: 129, max: 600 }).map((n) => 'a'.repeat(n)),
);

const validVehicle = fc.record({ make: fc.constantFrom('Mazda', 'Ford'), model: fc.constantFrom('3', 'Focus'), year: fc.integer({ min: 1990, max: 2026 }) });
const validBooking = fc.record(
  {
    plan: fc.constantFrom(...PLANS),
    concern: fc.constantFrom('Grinding noise when braking', 'Check engine light'),
    vehicle: fc.option(validVehicle, { nil: null }),
    preferred_mechanic_id: fc.option(fc.constantFrom('mech-alice', 'mech-bob', 'mech-nobody'), { nil: null }),
    routing_type: fc.option(fc.constantFrom(...ROUTING_TYPES), { nil: null }),
    workshop_id: fc.option(fc.constantFrom('ws-downtown', 'ws-nowhere'), { nil: null }),
  },
  { requiredKeys: ['plan', 'concern'] },
);

type Break = (body: Record<string, unknown>) => Record<string, unknown>;
const without =
  (field: string): Break =>
  (body) =>
    Object.fromEntries(Object.entries(body).filter(([name]) => name !== field));
const set =
  (field: string, value: unknown): Break =>
  (body) => ({ ...body, [field]: value });

/** One change that makes a booking invalid, whatever else it holds. */
const bookingBreak: fc.Arbitrary<Break> = fc.oneof(
  fc.constant(without('plan')),
  fc
    .string({ maxLength: 20 })
    .filter((s) => !PLANS.includes(s))
    .map((s) => set('plan', s)),
  fc.constantFrom('FREE', 'free ', 'Free', 'premium', 'ｆｒｅｅ').map((s) => set('plan', s)),
  wrongType('string').map((v) => set('plan', v)),
  fc.constant(without('concern')),
  wrongType('string').map((v) => set('concern', v)),
  blank.map((v) => set('concern', v)),
  longString(2001, 12_000).map((v) => set('concern', v)),
  wrongType('object', 'null').map((v) => set('vehicle', v)),
  fc.constant(set('vehicle', 'Mazda 3 2020')),
  validVehicle.chain((v) =>
    fc.oneof(
      fc.constantFrom('make', 'model', 'year').map((f) => set('vehicle', without(f)(v))),
      fc.constantFrom(2020.5, 1885, 2101, -1, 1e21, Number.MAX_SAFE_INTEGER).map((year) => set('vehicle', { ...v, year })),
      fc.constantFrom('2020', null, true, [2020]).map((year) => set('vehicle', { ...v, year })),
      blank.map((make) => set('vehicle', { ...v, make })),
      longString(101, 500).map((model) => set('vehicle', { ...v, model })),
      wrongType('string').map((make) => set('vehicle', { ...v, make })),
    ),
  ),
  badId.map((v) => set('preferred_mechanic_id', v)),
  badId.map((v) => set('workshop_id', v)),
  fc
    .string({ maxLength: 20 })
    .filter((s) => !ROUTING_TYPES.includes(s))
    .map((s) => set('routing_type', s)),
  fc.constantFrom('priority', 'PRIORITY_BROADCAST', 'workshop', 'priority_broadcast ').map((s) => set('routing_type', s)),
  wrongType('string', 'null').map((v) => set('routing_type', v)),
);

const validMechanic = fc.record(
  {
    status: fc.constantFrom(...MECHANIC_STATUSES),
    name: fc.option(fc.constantFrom('Bob', 'Zed'), { nil: null }),
    workshop_id: fc.option(fc.constant('ws-downtown'), { nil: null }),
  },
  { requiredKeys: ['status'] },
);
const mechanicBreak: fc.Arbitrary<Break> = fc.oneof(
  fc.constant(without('status')),
  fc
    .string({ maxLength: 20 })
    .filter((s) => !MECHANIC_STATUSES.includes(s))
    .map((s) => set('status', s)),
  fc.constantFrom('APPROVED', 'approved ', 'active', 'banned', 'admin').map((s) => set('status', s)),
  wrongType('string').map((v) => set('status', v)),
  wrongType('string', 'null').map((v) => set('name', v)),
  blank.map((v) => set('name', v)),
  longString(201, 2_000).map((v) => set('name', v)),
  badId.map((v) => set('workshop_id', v)),
);

const brokenObject = (valid: fc.Arbitrary<Record<string, unknown>>, breaks: fc.Arbitrary<Break>, fields: string[]) =>
  fc.tuple(valid, fc.array(breaks, { minLength: 1, maxLength: 3 }), junkMembers(fields)).map(([body, bs, junk]) =>
    objectText(
      bs.reduce((b, f) => f(b), body),
      junk,
    ),
  );

const notJson = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 60 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
    fc.constantFrom(
      '{',
      '}',
      '{"plan":"free",}',
      "{'plan':'free','concern':'x'}",
      '{"plan":free,"concern":"x"}',
      '{"plan":"free" "concern":"x"}',
      '{"plan":"free","concern":"x"}}',
      '{"plan":"free", /* a comment */ "concern":"x"}',
      '\ufeff{"plan":"free","concern":"x"}',
      'NaN',
      'undefined',
      '{"plan":"free","concern":"\\x41"}',
      '{"plan":"free","concern":"\\ud800"',
      'plan=free&concern=x',
      '<booking><plan>free</plan></booking>',
    ),
    // Any proper prefix of an object's JSON text is invalid JSON (its closing brace comes last).
    validBooking.chain((b) => {
      const text = JSON.stringify(b);
      return fc.integer({ min: 1, max: text.length - 1 }).map((n) => text.slice(0, n));
    }),
  )
  .filter((text) => {
    try {
      const value: unknown = JSON.parse(text);
      return value === null || typeof value !== 'object' || Array.isArray(value);
    } catch {
      return true;
    }
  });
const notAnObject = fc
  .oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }), fc.array(validBooking, { minLength: 1, maxLength: 2 }))
  .filter((v) => v === null || typeof v !== 'object' || Array.isArray(v))
  .map((v) => JSON.stringify(v));
const deep = (limitBytes: number) =>
  fc.oneof(
    fc.integer({ min: 500, max: Math.floor(limitBytes / 2) - 10 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
    fc.integer({ min: 300, max: Math.floor(limitBytes / 6) - 40 }).map((d) => `{"plan":"free","concern":"x","vehicle":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`),
    fc.integer({ min: 300, max: Math.floor(limitBytes / 2) - 60 }).map((d) => `{"plan":"free","concern":"x","routing_type":${'['.repeat(d)}${']'.repeat(d)}}`),
  );

type Body = { text: string | Buffer; what: string };
const bodyOf = (valid: fc.Arbitrary<Record<string, unknown>>, breaks: fc.Arbitrary<Break>, fields: string[]): fc.Arbitrary<Body> =>
  fc.oneof(
    { weight: 6, arbitrary: brokenObject(valid, breaks, fields).map((text) => ({ text, what: 'wrong shape' })) },
    { weight: 2, arbitrary: notJson.map((text) => ({ text, what: 'not JSON' })) },
    { weight: 2, arbitrary: notAnObject.map((text) => ({ text, what: 'JSON, not an object' })) },
    { weight: 1, arbitrary: deep(HANDLER_BODY_LIMIT).map((text) => ({ text, what: 'deep nesting' })) },
    { weight: 1, arbitrary: fc.constant({ text: '', what: 'empty' }) },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ text: Buffer.from([0xff, ...bytes]), what: 'bytes (not UTF-8)' })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(brokenObject(valid, breaks, fields), fc.integer({ min: HANDLER_BODY_LIMIT, max: 3 * HANDLER_BODY_LIMIT })).map(([text, size]) => ({
        text: `{"padding":"${'p'.repeat(size)}",${text.slice(1)}`,
        what: 'over 16 KiB',
      })),
    },
  );

// ---- generators: headers, paths, tokens ------------------------------------------------------

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'application/octet-stream',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'image/png',
      'application/vnd.api+json',
      'a/b/c;;;=',
      'application/json; charset=ÿ',
      'application/jsón',
    ),
  },
);
/** Header values cannot hold CR or LF (that would be another header); everything else goes on the wire. */
const headerSafe = (value: string) => value.replace(/[\r\n]/g, '_');
/** What the handler sees of a header value (Node trims spaces and tabs) breaks the 1-255 visible ASCII rule. */
const breaksKeyRule = (value: string) => {
  const seen = value.replace(/^[ \t]+|[ \t]+$/g, '');
  return seen === '' || seen.length > 255 || /[^\x21-\x7e]/.test(seen);
};
const badIdempotencyKey = fc
  .oneof(
    fc.constant(''),
    fc.integer({ min: 256, max: 300 }).map((n) => 'k'.repeat(n)),
    fc
      .tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\t', ' ', '\u0001', '\u007f', 'é', '🔑', '\u00a0'), fc.string({ maxLength: 8 }))
      .map(([a, c, b]) => `k${a}${c}${b}k`),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  )
  .map(headerSafe)
  .filter(breaksKeyRule);
const goodIdempotencyKey = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);
const oddHeaders = fc.array(
  fc.oneof(
    fc.constantFrom<[string, string]>(
      ['content-encoding', 'gzip'],
      ['x-forwarded-for', 'not-an-ip, ::1, 999.1.1.1'],
      ['accept', '*/*;q=garbage'],
      ['x-amz-date', 'yesterday'],
      ['cookie', '__proto__=1; a'],
    ),
    fc.string({ unit: 'binary', maxLength: 30 }).map((v): [string, string] => ['x-junk', headerSafe(v)]),
    fc.integer({ min: 1_000, max: 2_000 }).map((n): [string, string] => ['x-big', 'b'.repeat(n)]),
  ),
  { maxLength: 2 },
);

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Path ids: a percent-encoded oddity, or raw bytes on the request line (all well under Node's 16 KB header limit). */
const pathId = fc.oneof(
  { weight: 3, arbitrary: fc.uuid().map((id) => ({ id, odd: false })) },
  {
    weight: 8,
    arbitrary: fc
      .oneof(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        injection,
        longString(129, 500),
        fc.integer({ min: 129, max: 6_000 }).map((n) => 'a'.repeat(n)),
      )
      .map((s) => ({ id: encodeURIComponent(s.replace(LONE_SURROGATE, '?')), odd: true })),
  },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(
        '..',
        '.',
        '%2e%2e',
        '%2F',
        'a%2Fb',
        '..%2F..%2Fadmin',
        '%00',
        '%',
        '%zz',
        '%E0%A4%A',
        '%C0%AF',
        'ménagé',
        '💥',
        '%F0%9F%92',
        '*',
        ';',
        '$',
        "'",
        'x?x=1',
        'x?__proto__[a]=1',
      )
      .map((id) => ({ id, odd: true })),
  },
);

type TokenKind = 'customer' | 'admin' | 'empty-sub' | 'bad';

interface Tokens {
  customer: string[];
  admin: string;
  emptySub: string;
  /** Each refused by the JWT authorizer: 401 from the gateway. */
  bad: { token: string | undefined; what: string }[];
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let tokensMade: Promise<Tokens> | undefined;
const makeTokens = (): Promise<Tokens> => (tokensMade ??= mintTokens());

async function mintTokens(): Promise<Tokens> {
  const good = await sandbox.token({ sub: 'cust-bad-input' });
  const [header, payload, signature] = good.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const stranger = (await generateKeyPair('RS256')).privateKey;
  const randomClaims = fc.sample(
    fc.record({
      sub: fc.oneof(fc.string(), fc.constant('mech-bob'), fc.constant('cust-bad-input')),
      iss: fc.oneof(fc.constant(ISSUER), fc.webUrl()),
      aud: fc.oneof(fc.constant(DEV_AUDIENCE), fc.string(), fc.array(fc.string(), { maxLength: 2 })),
      exp: fc.oneof(fc.integer({ min: 0, max: 4_000_000_000 }), fc.string()),
      iat: fc.oneof(fc.integer({ min: 0, max: 4_000_000_000 }), fc.constant(null)),
      scope: fc.oneof(fc.constant('admin'), fc.string()),
      extra: fc.jsonValue({ maxDepth: 2 }),
    }),
    { seed: SEED + 1, numRuns: 24 },
  );
  const bad: Tokens['bad'] = [];
  for (const c of randomClaims) {
    bad.push({
      token: await new SignJWT(c as never).setProtectedHeader({ alg: 'RS256', kid: 'sandbox-dev-key', typ: 'JWT' }).sign(stranger),
      what: 'signed by a stranger, random claims',
    });
  }
  bad.push(
    {
      token: await new SignJWT({ scope: 'admin' })
        .setProtectedHeader({ alg: 'HS256', kid: 'sandbox-dev-key' })
        .setSubject('ops')
        .setIssuer(ISSUER)
        .setAudience(DEV_AUDIENCE)
        .setExpirationTime('1h')
        .sign(Buffer.alloc(32, 1)),
      what: 'HS256',
    },
    { token: await sandbox.token({ sub: 'cust-bad-input', expires_in: -120 }), what: 'expired' },
    { token: `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`, what: 'alg none' },
    { token: `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`, what: 'alg none, signature kept' },
    { token: `${b64({ alg: 'None' })}.${b64({ ...claims, scope: 'admin' })}.`, what: 'alg None, admin claimed' },
    { token: `${header}.${b64({ ...claims, sub: 'mech-bob', scope: 'admin' })}.${signature}`, what: 'tampered claims' },
    { token: `${header}.${payload}`, what: 'two segments' },
    { token: `${header}.${payload}.${signature}.${signature}`, what: 'four segments' },
    { token: `${header}..${signature}`, what: 'empty payload segment' },
    { token: `${payload}.${header}.${signature}`, what: 'segments swapped' },
    { token: '..', what: 'only dots' },
    { token: '', what: 'empty' },
    { token: undefined, what: 'missing' },
    { token: `${header}.${payload}.${signature.slice(0, -4)}AAAA`, what: 'signature changed' },
  );
  for (const cut of fc.sample(fc.integer({ min: 1, max: good.length - 1 }), { seed: SEED + 2, numRuns: 8 }))
    bad.push({ token: good.slice(0, cut), what: 'truncated' });
  for (const junk of fc.sample(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.base64String({ maxLength: 200 })), {
    seed: SEED + 3,
    numRuns: 12,
  }))
    bad.push({ token: headerSafe(junk), what: 'random string' });
  return {
    customer: [good, await sandbox.token({ sub: 'x'.repeat(3_000) }), await sandbox.token({ sub: 'cüstømer 💥 #SESSION#' })],
    admin: await sandbox.token({ sub: 'ops-bad-input', scope: 'admin' }),
    emptySub: await sandbox.token({ sub: '' }),
    bad,
  };
}

const authHeader = (token: string) =>
  fc
    .constantFrom<(t: string) => [string, string][]>(
      (t) => [['authorization', `Bearer ${t}`]],
      (t) => [['authorization', `bearer   ${t}  `]],
      (t) => [['authorization', t]], // API Gateway reads the header with or without "Bearer "
    )
    .map((f) => f(token));

// ---- the HTTP cases ---------------------------------------------------------------------------

interface HttpCase {
  /** The route of contract/routes.ts aimed at. */
  route: string;
  what: string;
  request: RawRequest;
  allowed: readonly number[];
}

function httpCase(tokens: Tokens): fc.Arbitrary<HttpCase> {
  const tokenOf = (route: 'customer' | 'admin'): fc.Arbitrary<{ kind: TokenKind; headers: [string, string][]; what: string }> =>
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .constantFrom(...(route === 'admin' ? [tokens.admin] : tokens.customer))
          .chain((t) => authHeader(t).map((headers) => ({ kind: route as TokenKind, headers, what: `${route} token` }))),
      },
      { weight: 1, arbitrary: authHeader(tokens.emptySub).map((headers) => ({ kind: 'empty-sub' as TokenKind, headers, what: 'token with an empty sub' })) },
      ...(route === 'admin'
        ? [
            {
              weight: 1,
              arbitrary: fc.constantFrom(...tokens.customer).map((t) => ({
                kind: 'customer' as TokenKind,
                headers: [['authorization', `Bearer ${t}`]] as [string, string][],
                what: 'customer token on the admin route',
              })),
            },
          ]
        : []),
      {
        weight: 2,
        arbitrary: fc.constantFrom(...tokens.bad).chain(({ token, what }) =>
          fc
            .constantFrom<(t: string) => [string, string][]>(
              (t) => [['authorization', `Bearer ${t}`]],
              (t) => [['authorization', t]],
              (t) => [['authorization', `Basic ${t}`]],
              (t) => [
                ['authorization', 'Bearer'],
                ['authorization', `Bearer ${t}`],
              ],
            )
            .map((f) => ({ kind: 'bad' as TokenKind, headers: token === undefined ? [] : f(token), what: `bad token (${what})` })),
        ),
      },
    );

  const common = fc.record({ contentType, odd: oddHeaders });
  const headersOf = (
    auth: [string, string][],
    c: { contentType: string | undefined; odd: [string, string][] },
    extra: [string, string][] = [],
  ): [string, string][] => [...auth, ...(c.contentType === undefined ? [] : [['content-type', c.contentType] as [string, string]]), ...c.odd, ...extra];
  const bytes = (text: string | Buffer) => (typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  /**
   * The statuses a request may get: a bad token is the gateway's 401; a token without `sub` the handler's 401
   * (or the gateway's 403 on the admin route: it has no scope); an odd path may miss the route (404) or hold a malformed escape (400).
   */
  const allowedFor = (kind: TokenKind, onRoute: readonly number[], oddPath: boolean, emptySub = 401): number[] => {
    const base = kind === 'bad' ? [401] : kind === 'empty-sub' ? [emptySub] : [...onRoute];
    return oddPath ? [...new Set([...base, 400, 404])] : base;
  };

  const intake = fc
    .tuple(
      tokenOf('customer'),
      common,
      fc.oneof(
        {
          weight: 5,
          arbitrary: bodyOf(validBooking, bookingBreak, BOOKING_FIELDS).map((b) => ({ ...b, key: undefined as string | undefined, keyBad: false })),
        },
        {
          weight: 1,
          arbitrary: fc.tuple(bodyOf(validBooking, bookingBreak, BOOKING_FIELDS), goodIdempotencyKey).map(([b, key]) => ({ ...b, key, keyBad: false })),
        },
        // A valid booking: only the Idempotency-Key is wrong (a bad token or empty sub refuses it earlier).
        {
          weight: 2,
          arbitrary: fc.tuple(validBooking, badIdempotencyKey).map(([b, key]) => ({ text: JSON.stringify(b), what: 'valid booking', key, keyBad: true })),
        },
      ),
    )
    .map(([token, c, body]): HttpCase => {
      const raw = bytes(body.text);
      // Through application/octet-stream the gateway hands the handler base64, which it decodes: the same checks apply.
      const onRoute = body.keyBad ? [400] : raw.length > HANDLER_BODY_LIMIT ? [413] : [400];
      const headers = headersOf(token.headers, c, body.key === undefined ? [] : [['idempotency-key', headerSafe(body.key)]]);
      return {
        route: 'POST /intake/start',
        what: `POST /intake/start, ${token.what}, ${body.what}`,
        request: { method: 'POST', path: '/intake/start', headers, body: raw },
        allowed: allowedFor(token.kind, onRoute, false),
      };
    });

  const sessionRoute = (method: string, suffix: string) =>
    fc.tuple(tokenOf('customer'), common, pathId, fc.option(bodyOf(validBooking, bookingBreak, BOOKING_FIELDS), { nil: undefined })).map(
      ([token, c, id, body]): HttpCase => ({
        route: `${method} /sessions/{id}${suffix}`,
        what: `${method} /sessions/${show(id.id, 60)}${suffix}, ${token.what}`,
        // Nobody has a session here: every id is someone else's or nobody's, so 404; a body is ignored.
        request: { method, path: `/sessions/${id.id}${suffix}`, headers: headersOf(token.headers, c), body: body ? bytes(body.text) : Buffer.alloc(0) },
        allowed: allowedFor(token.kind, [404], id.odd),
      }),
    );

  const mechanic = fc
    .tuple(
      tokenOf('admin'),
      common,
      fc.oneof(
        {
          weight: 4,
          arbitrary: fc
            .tuple(fc.constantFrom('mech-bob', 'mech-alice', 'mech-zed', 'mech-dave'), bodyOf(validMechanic, mechanicBreak, MECHANIC_FIELDS))
            .map(([id, body]) => ({ id, odd: false, body })),
        },
        { weight: 2, arbitrary: fc.tuple(pathId, bodyOf(validMechanic, mechanicBreak, MECHANIC_FIELDS)).map(([p, body]) => ({ ...p, body })) },
        // A valid body: only the path id is wrong (never a dot segment, which could normalize into a valid id).
        {
          weight: 2,
          arbitrary: fc
            .tuple(
              badId.filter((v): v is string => typeof v === 'string' && v !== '' && !/^\.+$/.test(v)),
              validMechanic,
            )
            .map(([id, b]) => ({ id: encodeURIComponent(id), odd: true, body: { text: JSON.stringify(b), what: 'valid body, bad id' } })),
        },
      ),
    )
    .map(([token, c, target]): HttpCase => {
      const raw = bytes(target.body.text);
      // The id is checked before the body's size: an odd id with a big body is a 400.
      const onRoute = token.kind === 'customer' ? [403] : raw.length > HANDLER_BODY_LIMIT ? (target.odd ? [400, 413] : [413]) : [400];
      return {
        route: 'PUT /mechanics/{id}',
        what: `PUT /mechanics/${show(target.id, 60)}, ${token.what}, ${target.body.what}`,
        request: { method: 'PUT', path: `/mechanics/${target.id}`, headers: headersOf(token.headers, c), body: raw },
        allowed: allowedFor(token.kind, onRoute, target.odd, 403),
      };
    });

  // POST /ws/ticket: only bodies that are no ticket request (a valid or an empty one would issue a ticket: a write).
  const badRole = fc.oneof(
    wrongType('string', 'null'),
    fc.string({ maxLength: 20 }).filter((role) => !(TICKET_ROLES as readonly string[]).includes(role)),
    injection,
  );
  const ticket = fc
    .tuple(
      tokenOf('customer'),
      common,
      fc.oneof(
        notJson.map((text) => ({ text, what: 'invalid JSON' })),
        notAnObject.map((text) => ({ text, what: 'JSON, not an object' })),
        fc.tuple(badRole, junkMembers(['role'])).map(([role, junk]) => ({ text: objectText({ role }, junk), what: `role ${show(role, 40)}` })),
      ),
    )
    .map(([token, c, body]): HttpCase => {
      const raw = bytes(body.text);
      return {
        route: 'POST /ws/ticket',
        what: `POST /ws/ticket, ${token.what}, ${body.what}`,
        request: { method: 'POST', path: '/ws/ticket', headers: headersOf(token.headers, c), body: raw },
        allowed: allowedFor(token.kind, raw.length > HANDLER_BODY_LIMIT ? [413] : [400], false),
      };
    });

  const wrongMethod = fc
    .tuple(
      fc.constantFrom('GET', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'get', 'P0ST'),
      fc.constantFrom('/intake/start', '/sessions/x/cancel', '/mechanics/mech-bob', '/intake', '/'),
      fc.constantFrom(...tokens.customer),
    )
    .map(
      ([method, path, token]): HttpCase => ({
        route: 'no route',
        what: `${method} ${path}`,
        request: { method, path, headers: [['authorization', `Bearer ${token}`]], body: Buffer.from('{}') },
        allowed: [400, 404],
      }),
    );

  return fc.oneof(
    { weight: 40, arbitrary: intake },
    { weight: 11, arbitrary: sessionRoute('POST', '/checkout/complete') },
    { weight: 11, arbitrary: sessionRoute('POST', '/cancel') },
    { weight: 11, arbitrary: sessionRoute('GET', '') },
    { weight: 24, arbitrary: mechanic },
    { weight: 8, arbitrary: ticket },
    { weight: 3, arbitrary: wrongMethod },
  );
}

// ---- WebSocket --------------------------------------------------------------------------------

type Reply = 'error' | 'accept_result' | 'pong';
type Message = { type?: string; [field: string]: unknown };

/** A real mechanic connection that records every message (a non-JSON one too) and how it closed. */
class Mechanic {
  readonly messages: Message[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: RawData) => {
      try {
        this.messages.push(JSON.parse(data.toString()) as Message);
      } catch {
        this.messages.push({ type: '<not JSON>', raw: data.toString().slice(0, 200) });
      }
    });
    socket.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    socket.on('error', () => undefined);
  }

  static async open(token: string): Promise<Mechanic> {
    const socket = new WebSocket(`${sandbox.wsUrl}?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
      socket.once('error', reject);
    });
    const mechanic = new Mechanic(socket);
    open.push(mechanic);
    return mechanic;
  }

  count(type: string): number {
    return this.messages.filter((m) => m.type === type).length;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

interface Frame {
  data: string | Buffer;
  binary: boolean;
  what: string;
}

/** What DESIGN §3 promises for a frame: ping → pong; accept with a usable request_id → accept_result (nothing exists here, so not_found); anything else → an error event. */
function expectedReply(frame: Frame): Reply {
  if (frame.binary) return 'error';
  let message: unknown;
  try {
    message = JSON.parse(frame.data as string);
  } catch {
    return 'error';
  }
  const m = message !== null && typeof message === 'object' && !Array.isArray(message) ? (message as Record<string, unknown>) : {};
  const usableId = typeof m.request_id === 'string' && codePoints(m.request_id) >= 1 && codePoints(m.request_id) <= 128;
  if (m.action === 'ping') return 'pong';
  if (m.action === 'accept' && usableId) return 'accept_result';
  return 'error'; // decline of a request that does not exist is an error event (not_found) too
}

const requestId = fc.oneof(
  fc.constant(undefined),
  wrongType('string'),
  fc.constant(''),
  longString(129, 25_000),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }),
  injection,
  fc.uuid().map((id) => `req-${id}`),
);

const frameArb: fc.Arbitrary<Frame> = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc
        .oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }))
        .map((data) => ({ data, binary: false, what: 'random text' })),
    },
    { weight: 2, arbitrary: notJson.map((data) => ({ data, binary: false, what: 'invalid JSON' })) },
    { weight: 2, arbitrary: notAnObject.map((data) => ({ data, binary: false, what: 'JSON, not an object' })) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.constantFrom(
            '$connect',
            '$disconnect',
            '$default',
            'ACCEPT',
            'Ping',
            'ping ',
            'accept\u0000',
            '__proto__',
            'constructor',
            'toString',
            'hasOwnProperty',
          ),
          longString(65, 20_000),
        )
        // Routed actions are not random: `sync` or `pause` with junk members is a good message (answered `offers`, `availability`).
        .filter((a) => typeof a !== 'string' || !ROUTED_ACTIONS.includes(a))
        .chain((action) => junkMembers(['action']).map((junk) => objectText({ action, request_id: 'req-x' }, junk)))
        .map((data) => ({ data, binary: false, what: '{"action": <random>}' })),
    },
    {
      weight: 5,
      arbitrary: fc.tuple(fc.constantFrom('accept', 'decline'), requestId, junkMembers(['action', 'request_id'])).map(([action, id, junk]) => ({
        data: objectText(id === undefined ? { action } : { action, request_id: id }, junk),
        binary: false,
        what: `${action} with an odd request_id`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '{"__proto__":{"action":"ping"}}',
          '{"constructor":{"prototype":{"action":"accept","request_id":"x"}}}',
          '{"__proto__":{"action":"accept"},"request_id":"x"}',
          '[{"action":"ping"}]',
          '"{\\"action\\":\\"ping\\"}"',
        )
        .map((data) => ({ data, binary: false, what: 'prototype keys' })),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.constantFrom(Buffer.from('{"action":"ping"}'), Buffer.from('{"action":"accept","request_id":"x"}')),
        )
        .map((data) => ({ data, binary: true, what: 'binary frame' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 60_000, max: FRAME_LIMIT - 1_000 })
        .map((n) => ({ data: `{"action":"${'a'.repeat(n)}"}`, binary: false, what: 'just under 128 KB' })),
    },
  )
  .filter((frame) => Buffer.byteLength(frame.data) < FRAME_LIMIT); // over the limit is the 1009 test's business

// ---- the tests --------------------------------------------------------------------------------

describe(`bad input never gets a 5xx, a crash, a dropped connection or a write (seed ${SEED})`, () => {
  it(`HTTP: ${HTTP_CASES} generated malformed requests across every route get a 4xx in the contract's shape`, async () => {
    // Arrange
    const tokens = await makeTokens();
    const cases = fc.sample(httpCase(tokens), { seed: SEED, numRuns: HTTP_CASES });
    const perRoute = new Map<string, number>();
    for (const c of cases) perRoute.set(c.route, (perRoute.get(c.route) ?? 0) + 1);

    // Act
    const verdicts = await inBatches(cases, IN_FLIGHT, async (c, index) => {
      let answer: RawAnswer;
      try {
        answer = await rawHttp(c.request);
      } catch (error) {
        return `#${index} ${c.what}: ${(error as Error).message}`;
      }
      const wrong = judge(answer, c.allowed);
      return wrong
        ? `#${index} ${c.what}: ${wrong} (headers ${show(c.request.headers, 160)}; body ${show(c.request.body.toString('utf8'), process.env.BAD_INPUT_DEBUG ? 100000 : 160)})`
        : undefined;
    });
    tally.http += cases.length;

    // Assert
    const failures = verdicts.filter((v) => v !== undefined);
    expect(failures.slice(0, 15), `seed ${SEED}: ${failures.length} of ${cases.length} requests answered wrong`).toEqual([]);
    expect([...perRoute.keys()].sort()).toEqual([...httpRoutes.map((r) => `${r.method} ${r.path}`), 'no route'].sort());
    expect(tally.parserRefusals, 'most requests must reach the gateway, or the test proves little').toBeLessThan(cases.length * 0.15);
    console.log(`[bad-input] HTTP cases per route: ${[...perRoute].map(([r, n]) => `${r}=${n}`).join(', ')}`);
    await expectNothingWritten();
  });

  it("oversized bodies: over 16 KiB is the handler's 413 payload_too_large; over 10 MB the gateway's 413, declared or chunked", async () => {
    // Arrange
    const token = await sandbox.token({ sub: 'cust-bad-input' });
    const booking = (size: number) => JSON.stringify({ plan: 'free', concern: 'x', padding: 'p'.repeat(size) });

    // Act
    const handler = await rawHttp({
      method: 'POST',
      path: '/intake/start',
      headers: [
        ['authorization', `Bearer ${token}`],
        ['content-type', 'application/json'],
      ],
      body: Buffer.from(booking(HANDLER_BODY_LIMIT)),
    });
    const asBinary = await rawHttp({
      method: 'POST',
      path: '/intake/start',
      headers: [
        ['authorization', `Bearer ${token}`],
        ['content-type', 'application/octet-stream'],
      ],
      body: Buffer.from(booking(HANDLER_BODY_LIMIT)),
    });
    const mechanic = await rawHttp({
      method: 'PUT',
      path: '/mechanics/mech-zed',
      headers: [['authorization', `Bearer ${await sandbox.token({ sub: 'ops', scope: 'admin' })}`]],
      body: Buffer.from(JSON.stringify({ status: 'approved', name: 'n'.repeat(HANDLER_BODY_LIMIT) })),
    });
    const declared = await fetch(`${sandbox.httpUrl}/intake/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: booking(GATEWAY_BODY_LIMIT),
    });
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${sandbox.httpUrl}/intake/start`,
        { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 'p');
      let sent = 0;
      const write = (): void => {
        while (sent < 11) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });
    tally.oversized += 5;
    for (const status of [handler.status, asBinary.status, mechanic.status, declared.status, chunked.status])
      tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);

    // Assert
    const tooLarge = { error: { code: 'payload_too_large', message: expect.stringContaining('16384') } };
    expect(handler.status).toBe(413);
    expect(JSON.parse(handler.body)).toEqual(tooLarge);
    expect(asBinary.status).toBe(413);
    expect(JSON.parse(asBinary.body)).toEqual(tooLarge);
    expect(mechanic.status).toBe(413);
    expect(JSON.parse(mechanic.body)).toEqual(tooLarge);
    expect({ status: declared.status, body: await declared.json() }).toEqual({ status: 413, body: { message: 'Request Entity Too Large' } });
    expect({ status: chunked.status, body: JSON.parse(chunked.body) as unknown }).toEqual({ status: 413, body: { message: 'Request Entity Too Large' } });
    await expectNothingWritten();
  });

  it(`WebSocket: ${WS_FRAMES} generated malformed frames each get one error event (or accept_result); the connections stay open and answer ping`, async () => {
    // Arrange
    const token = await sandbox.token({ sub: 'mech-bob' });
    const frames = fc.sample(frameArb, { seed: SEED + 10, numRuns: WS_FRAMES });
    const mechanics = await Promise.all(Array.from({ length: 4 }, () => Mechanic.open(token)));
    const BATCH = 22;
    const failures: string[] = [];
    const expected = mechanics.map(() => ({ error: 0, accept_result: 0, pong: 0 }));

    // Act + Assert, batch by batch: each batch ends with a ping that must be answered on a connection still open
    for (let start = 0; start < frames.length; start += BATCH) {
      const m = Math.floor(start / BATCH) % mechanics.length;
      const mechanic = mechanics[m]!;
      const batch = frames.slice(start, start + BATCH);
      for (const frame of batch) {
        expected[m]![expectedReply(frame)]++;
        mechanic.socket.send(frame.data, { binary: frame.binary });
      }
      mechanic.socket.send(JSON.stringify({ action: 'ping' }));
      expected[m]!.pong++;
      const want = expected[m]!;
      try {
        await eventually(
          () =>
            mechanic.closed === undefined &&
            mechanic.count('error') >= want.error &&
            mechanic.count('accept_result') >= want.accept_result &&
            mechanic.count('pong') >= want.pong,
          `replies to frames ${start}-${start + batch.length - 1}`,
          10_000,
        );
      } catch (error) {
        failures.push(
          `frames ${start}-${start + batch.length - 1}: ${(error as Error).message}; closed ${JSON.stringify(mechanic.closed)}; got error ${mechanic.count('error')}/${want.error}, accept_result ${mechanic.count('accept_result')}/${want.accept_result}, pong ${mechanic.count('pong')}/${want.pong}; ` +
            `batch ${show(
              batch.map((f) => `${f.what}: ${show(f.binary ? `<${(f.data as Buffer).length} bytes>` : f.data, 60)}`),
              600,
            )}`,
        );
        break;
      }
    }
    // One more ping round on every connection, so a stray extra reply has had its chance to land before counting.
    if (!failures.length) {
      for (const [i, mechanic] of mechanics.entries()) {
        mechanic.socket.send(JSON.stringify({ action: 'ping' }));
        expected[i]!.pong++;
      }
      await eventually(() => mechanics.every((m, i) => m.count('pong') >= expected[i]!.pong), 'the last pongs');
    }
    tally.frames += frames.length;

    expect(failures, `seed ${SEED}`).toEqual([]);
    for (const [i, mechanic] of mechanics.entries()) {
      expect(mechanic.closed, `seed ${SEED}: connection ${i} closed`).toBeUndefined();
      expect(mechanic.socket.readyState).toBe(WebSocket.OPEN);
      expect(
        { error: mechanic.count('error'), accept_result: mechanic.count('accept_result'), pong: mechanic.count('pong') },
        `seed ${SEED}: one reply per frame`,
      ).toEqual(expected[i]);
      const odd = mechanic.messages.filter((msg) => !['error', 'accept_result', 'pong'].includes(msg.type ?? ''));
      expect(odd, `seed ${SEED}: messages that are no contract event (e.g. the gateway's "Internal server error")`).toEqual([]);
      for (const msg of mechanic.messages.filter((x) => x.type === 'error')) {
        expect(Object.keys(msg).sort()).toEqual(['code', 'message', 'sent_at', 'type']);
        expect(msg).toEqual({ type: 'error', code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String), sent_at: expect.stringMatching(ISO_TIME) });
        expect(msg.code).not.toBe('internal_error');
      }
      for (const msg of mechanic.messages.filter((x) => x.type === 'accept_result')) expect(msg).toMatchObject({ ok: false, reason: 'not_found' });
      tally.errorEvents += mechanic.count('error');
      tally.acceptResults += mechanic.count('accept_result');
    }
    await Promise.all(mechanics.map((m) => m.close()));
    await eventually(async () => (await snapshot()).connections === baseline.connections, 'the connection items to be removed on close');
    await expectNothingWritten();
  });

  it('WebSocket: a frame over 128 KB (text or binary) is closed by the gateway with 1009; other connections carry on', async () => {
    // Arrange
    const token = await sandbox.token({ sub: 'mech-bob' });
    const [text, binary, bystander] = await Promise.all([Mechanic.open(token), Mechanic.open(token), Mechanic.open(token)]);

    // Act
    text!.socket.send(`{"action":"ping","padding":"${'p'.repeat(FRAME_LIMIT)}"}`);
    binary!.socket.send(Buffer.alloc(FRAME_LIMIT + 1, 7), { binary: true });
    await eventually(() => text!.closed && binary!.closed, 'the oversized connections to close');
    bystander!.socket.send(JSON.stringify({ action: 'ping' }));
    tally.oversized += 2;

    // Assert
    expect(text!.closed!.code).toBe(1009);
    expect(binary!.closed!.code).toBe(1009);
    expect(text!.messages).toEqual([]); // the oversized ping never reached a route
    await eventually(() => bystander!.count('pong') === 1, 'the bystander to get pong');
    await bystander!.close();
    await eventually(async () => (await snapshot()).connections === baseline.connections, 'the connection items to be removed on close');
    await expectNothingWritten();
  });

  it(`WebSocket handshake: ${HANDSHAKES} bad tokens are refused with 401 or 403, never a 5xx`, async () => {
    // Arrange
    const tokens = await makeTokens();
    const signedOdd = await Promise.all(
      ['', 'x'.repeat(3_000), 'mech-dave', 'mech-nobody', 'mech bob', 'MECHANIC#mech-bob', 'mech-bob\u0000', '💥', 'mech-bob/../mech-alice'].map(
        async (sub) => ({ token: await sandbox.token({ sub }), what: `signed, sub ${show(sub, 30)}` }),
      ),
    );
    const pool = [...tokens.bad, ...signedOdd];
    const picks = fc
      .sample(fc.tuple(fc.constantFrom(...pool), fc.constantFrom('plain', 'twice', 'other-param')), { seed: SEED + 20, numRuns: HANDSHAKES - signedOdd.length })
      .concat(signedOdd.map((t) => [t, 'plain'] as const));

    // Act
    const answers = await inBatches(picks, 8, async ([{ token, what }, how]) => {
      const query =
        token === undefined
          ? ''
          : how === 'twice'
            ? `?token=${encodeURIComponent(token)}&token=x`
            : how === 'other-param'
              ? `?tok=${encodeURIComponent(token)}`
              : `?token=${encodeURIComponent(token)}`;
      const status = await new Promise<number | string>((resolve) => {
        const socket = new WebSocket(`${sandbox.wsUrl}${query}`);
        socket.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          socket.terminate();
        });
        socket.once('open', () => {
          resolve(101);
          socket.close();
        });
        socket.once('error', (error) => resolve(`error: ${error.message}`));
      });
      return { what: `${what} (${how})`, status };
    });
    tally.handshakes += answers.length;

    // Assert
    const wrong = answers.filter((a) => a.status !== 401 && a.status !== 403);
    expect(wrong, `seed ${SEED}: handshakes not refused with 401/403`).toEqual([]);
    // Well-signed tokens of nobody (an empty, too long or odd sub, a pending mechanic) are the authorizer's Deny: 403.
    expect(answers.slice(-signedOdd.length).map((a) => `${a.what}: ${a.status}`)).toEqual(signedOdd.map((t) => `${t.what} (plain): 403`));
    await expectNothingWritten();
  });

  it('control: afterwards the same raw client, token and headers get a well-formed booking accepted (the 4xx above were the input, not the harness)', async () => {
    // Arrange
    const [token] = (await makeTokens()).customer;

    // Act
    const answer = await rawHttp({
      method: 'POST',
      path: '/intake/start',
      headers: [
        ['authorization', `Bearer ${token}`],
        ['content-type', 'application/octet-stream'],
        ['idempotency-key', 'bad-input-control'],
      ],
      body: Buffer.from(JSON.stringify({ plan: 'paid', concern: 'Grinding noise when braking' })),
    });

    // Assert
    expect(answer.status, answer.body).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'awaiting_checkout', session_id: expect.any(String) });
    // The booking, and the customer's open-bookings item (the place it holds).
    expect((await snapshot()).records.length).toBe(baseline.records.length + 2);
  });
});
