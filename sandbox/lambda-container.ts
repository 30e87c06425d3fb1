/**
 * Runs inside the worker thread: the same handler files the stack deploys,
 * loaded from the routes manifest, invoked with the event the gateways build.
 * Its env (endpoints, table, flag …) was set by the host; nothing in the
 * handlers knows it is local.
 */
import { randomUUID } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { functions, type FunctionName } from '../lib/routes';

/** An invocation, or (without `function`) a request to load every handler now. */
export interface Invocation {
  id: number;
  function?: FunctionName;
  event?: unknown;
}

export type InvocationResult = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { name: string; message: string; stack?: string } };

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
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
    const context = { functionName: invocation.function, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 29_000 };
    answer = { id: invocation.id, ok: true, result: await handler(invocation.event, context) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    answer = { id: invocation.id, ok: false, error: { name: e.name, message: e.message, stack: e.stack } };
  }
  parentPort!.postMessage(answer);
});
