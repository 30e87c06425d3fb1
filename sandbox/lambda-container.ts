/**
 * Runs inside the worker thread: the same handler files the stack deploys,
 * loaded from the routes manifest, invoked with the event the gateways build
 * and a Lambda context. Its env (endpoints, table, flag …) was set by the
 * host; nothing in the handlers knows it is local.
 *
 * One container runs every invocation here, overlapping ones included, while
 * Lambda gives each concurrent invocation its own container: Powertools'
 * per-invocation log keys (context, correlation id) can then mix between
 * overlapping invocations in the sandbox's output, never in AWS.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { parentPort } from 'node:worker_threads';
import { Client } from '@smithy/core/client';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { functions, type FunctionName } from '../contract/routes';
import { AccessDeniedException, actionOf, grantedActions } from './iam';
import { lambdaContext } from './lambda-context';

/** An invocation, or (without `function`) a request to load every handler now. */
export interface Invocation {
  id: number;
  function?: FunctionName;
  event?: unknown;
  /** The deployed function's name and ARN, for the context (the host sets them with `function`). */
  functionName?: string;
  functionArn?: string;
}

export type InvocationResult = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { name: string; message: string; stack?: string } };

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/**
 * Which function an SDK call comes from: every invocation runs in its own
 * async context, and every AWS SDK client's `send` (they all share this base
 * class) checks the call against that function's grants first.
 */
const invoking = new AsyncLocalStorage<FunctionName>();
const grants = new Map((Object.keys(functions) as FunctionName[]).map((name) => [name, grantedActions(name)]));
const send = Client.prototype.send;
Client.prototype.send = function checkedSend(this: Client<never, never, never, never>, command: { constructor: { name: string } }, ...rest: unknown[]) {
  const name = invoking.getStore();
  const action = actionOf(command.constructor.name);
  if (name && !grants.get(name)!.has(action)) {
    process.stdout.write(
      `${JSON.stringify({ timestamp: new Date().toISOString(), level: 'ERROR', message: `[sandbox IAM] ${name} is not granted ${action}` })}\n`,
    );
    return Promise.reject(new AccessDeniedException(name, action));
  }
  return (send as (...args: unknown[]) => unknown).call(this, command, ...rest);
} as typeof send;
const loaded = new Map<FunctionName, Promise<Handler>>();
const root = resolve(import.meta.dirname, '..');

function handlerOf(name: FunctionName): Promise<Handler> {
  let handler = loaded.get(name);
  if (!handler) {
    handler = import(pathToFileURL(resolve(root, functions[name].entry)).href).then((module: { handler: Handler }) => module.handler);
    loaded.set(name, handler);
  }
  return handler;
}

parentPort!.on('message', async (invocation: Invocation) => {
  let answer: InvocationResult;
  try {
    if (!invocation.function) {
      await Promise.all((Object.keys(functions) as FunctionName[]).map(handlerOf));
      parentPort!.postMessage({ id: invocation.id, ok: true, result: null } satisfies InvocationResult);
      return;
    }
    const handler = await handlerOf(invocation.function);
    const context = lambdaContext({ functionName: invocation.functionName!, functionArn: invocation.functionArn! });
    answer = { id: invocation.id, ok: true, result: await invoking.run(invocation.function, () => handler(invocation.event, context)) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    answer = { id: invocation.id, ok: false, error: { name: e.name, message: e.message, stack: e.stack } };
  }
  parentPort!.postMessage(answer);
});
