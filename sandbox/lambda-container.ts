/**
 * Runs inside a worker thread: Lambda "containers" of any function, each one
 * its function's bundle imported under its own URL (so with its own module
 * scope), running one invocation at a time as a Lambda container does. Many
 * containers share a worker's event loop, so invocations that wait on I/O
 * overlap as they do across containers in AWS; CPU work runs on as many
 * threads as the host has workers. The env (endpoints, table, flag …) was set
 * by the host; nothing in the handlers knows it is local.
 *
 * Each container sees its own function's role credentials in its
 * environment (AWS_ACCESS_KEY_ID and co.), as Lambda gives each function its
 * role's, so whatever it signs is signed as that function.
 *
 * Every AWS SDK call (all clients share @smithy/core's `Client`, which the
 * bundles leave external) is checked against the calling function's grants,
 * and can be made the last thing a container does: a `Crash` fault kills the
 * container right after its first call of that operation returns. The
 * `@connections` calls are signed HTTP requests of the functions' own (no SDK
 * command): the gateway checks their grants; they are counted, and crash, here
 * at the HTTP level (node:diagnostics_channel).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { Client } from '@smithy/core/client';
import { functions, type FunctionName } from '../contract/routes';
import { AccessDeniedException, actionOf, grantedActions, operationOf, type RoleCredentials } from './iam';
import type { CrashFault } from './faults';
import { lambdaContext } from './lambda-context';

/** An invocation of one container; a container not yet seen here is started first (its cold start). */
export interface Invocation {
  id: number;
  container: number;
  function: FunctionName;
  /** The function's bundle (file URL). */
  bundle: string;
  event: unknown;
  functionName: string;
  functionArn: string;
  timeoutMs: number;
}

/** AWS calls an invocation made, by operation (`PutItem`, `PostToConnection`, `Invoke` …). */
export type CallCounts = Record<string, number>;

export type InvocationResult =
  | { id: number; ok: true; result: unknown; calls?: CallCounts }
  | { id: number; ok: false; error: { name: string; message: string; stack?: string }; calls?: CallCounts }
  /** The container died right after that call (`Operation#n`) returned; nothing it does from now on reaches AWS. */
  | { id: number; crashed: string };

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

interface Running {
  readonly invocation: Invocation;
  /** The event as JSON, for a crash fault's `match`. */
  readonly event: string;
  readonly calls: CallCounts;
  dead: boolean;
}

/** Which invocation an SDK call comes from: each runs in its own async context. */
const running = new AsyncLocalStorage<Running>();
const grants = new Map((Object.keys(functions) as FunctionName[]).map((name) => [name, grantedActions(name)]));
const never = new Promise<never>(() => undefined);
const send = Client.prototype.send;
Client.prototype.send = async function checkedSend(this: Client<never, never, never, never>, command: { constructor: { name: string } }, ...rest: unknown[]) {
  const current = running.getStore();
  if (current?.dead) return never;
  const action = actionOf(command.constructor.name);
  if (current && !grants.get(current.invocation.function)!.has(action)) {
    process.stdout.write(
      `${JSON.stringify({ timestamp: new Date().toISOString(), level: 'ERROR', message: `[sandbox IAM] ${current.invocation.function} is not granted ${action}` })}\n`,
    );
    throw new AccessDeniedException(current.invocation.function, action);
  }
  const operation = operationOf(command.constructor.name);
  if (current) current.calls[operation] = (current.calls[operation] ?? 0) + 1;
  const answer = await (send as (...args: unknown[]) => Promise<unknown>).call(this, command, ...rest);
  if (current) crashIfArmed(current, `${operation}#${current.calls[operation]}`);
  return current?.dead ? never : answer;
} as typeof send;

/** After a call (`Operation#n`) returned: if a Crash fault names it, the container dies now. */
function crashIfArmed(current: Running, point: string): void {
  if (current.dead || !crashes.some((c) => isHit(c, current, point))) return;
  // As a timeout or out-of-memory kill would: the call happened, its caller never learns.
  current.dead = true;
  parentPort!.postMessage({ id: current.invocation.id, crashed: point } satisfies InvocationResult);
}

// ---- @connections: signed HTTP requests, not SDK commands ----
const CONNECTIONS_OPERATIONS: Record<string, string> = { POST: 'PostToConnection', DELETE: 'DeleteConnection', GET: 'GetConnection' };
const connectionsCall = new WeakMap<ClientRequest, { current: Running; point: string }>();
subscribe('http.client.request.created', (message) => {
  const { request } = message as { request: ClientRequest };
  const current = running.getStore();
  if (!current) return;
  // A dead container reaches nothing any more, whatever it still tries.
  if (current.dead) return void request.destroy();
  const operation = request.path.includes('/@connections/') ? CONNECTIONS_OPERATIONS[request.method] : undefined;
  if (!operation) return;
  current.calls[operation] = (current.calls[operation] ?? 0) + 1;
  connectionsCall.set(request, { current, point: `${operation}#${current.calls[operation]}` });
});
subscribe('http.client.response.finish', (message) => {
  const call = connectionsCall.get((message as { request: ClientRequest }).request);
  if (call) crashIfArmed(call.current, call.point);
});

// ---- each function's own credentials ----
const roleCredentials = (workerData as { roleCredentials: Record<FunctionName, RoleCredentials> }).roleCredentials;
process.env = new Proxy(process.env, {
  get(env, name) {
    const fn = running.getStore()?.invocation.function;
    const own = fn && typeof name === 'string' ? (roleCredentials[fn] as unknown as Record<string, string>)[name] : undefined;
    return own ?? Reflect.get(env, name);
  },
});

/** The armed Crash faults, kept current by the host (sandbox/faults.ts). */
let crashes: readonly CrashFault[] = [];
const isHit = (crash: CrashFault, current: Running, point: string): boolean =>
  crash.point === point &&
  (crash.function === undefined || crash.function === current.invocation.function) &&
  (crash.match === undefined || current.event.includes(crash.match));

const containers = new Map<number, Promise<Handler>>();

function containerOf(container: number, bundle: string): Promise<Handler> {
  let handler = containers.get(container);
  if (!handler) {
    // Its own URL, so its own module instance: the cold start of a new container.
    handler = import(`${bundle}?container=${container}`).then((module: { handler: Handler }) => module.handler);
    containers.set(container, handler);
  }
  return handler;
}

/** Besides invocations: load a container ahead of use (warm-up), forget one that died, or the armed crashes changed. */
type Control = { load: number; id: number; bundle: string } | { retire: number } | { crashes: CrashFault[] };

parentPort!.on('message', async (message: Invocation | Control) => {
  if ('crashes' in message) {
    crashes = message.crashes;
    return;
  }
  if ('retire' in message) {
    // A dead container is never used again; its module instance is dropped (work still pending in it stays stuck).
    containers.delete(message.retire);
    return;
  }
  if ('load' in message) {
    try {
      await containerOf(message.load, message.bundle);
      parentPort!.postMessage({ id: message.id, ok: true, result: null } satisfies InvocationResult);
    } catch (error) {
      parentPort!.postMessage({ id: message.id, ok: false, error: { name: 'Runtime.ImportModuleError', message: String(error) } } satisfies InvocationResult);
    }
    return;
  }
  const invocation = message;
  const state: Running = { invocation, event: JSON.stringify(invocation.event) ?? '', calls: {}, dead: false };
  let answer: InvocationResult;
  try {
    const handler = await containerOf(invocation.container, invocation.bundle);
    const context = lambdaContext({ functionName: invocation.functionName, functionArn: invocation.functionArn, timeoutMs: invocation.timeoutMs });
    answer = { id: invocation.id, ok: true, result: await running.run(state, () => handler(invocation.event, context)), calls: state.calls };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    answer = { id: invocation.id, ok: false, error: { name: e.name, message: e.message, stack: e.stack }, calls: state.calls };
  }
  if (!state.dead) parentPort!.postMessage(answer);
});
