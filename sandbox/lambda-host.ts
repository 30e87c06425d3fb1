/**
 * The sandbox's Lambda service. Each function has its own containers: a
 * container is the function's bundle imported into its own module scope and
 * runs one invocation at a time; an invocation finds an idle container of its
 * function or starts a new one (paying its cold start), as Lambda does. The
 * containers live on two pools of `concurrency` worker threads (default: one
 * per core), one for the request path's functions and one for the
 * asynchronous targets, so CPU-bound invocations run in parallel up to that
 * many per pool, those waiting on I/O overlap freely, and a broadcast's pushes
 * never queue an intake on their event loop. Every worker has the env the stack would set.
 * Handlers' log lines (stdout and stderr, as Lambda sends both to CloudWatch)
 * come back through `onLogLine`.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { functionName } from '../contract/naming';
import { functions, type FunctionName, type FunctionSpec, isAsyncTarget, memoryMbOf, timeoutSecondsOf } from '../contract/routes';
import type { Faults } from './faults';
import type { RoleCredentials } from './iam';
import type { CallCounts, Invocation, InvocationResult } from './lambda-container';
import { functionBundles } from './lambda-bundles';
import { SANDBOX_ACCOUNT, SANDBOX_REGION } from './account';

/** Raised when the handler threw or timed out: what API Gateway and the scheduler see as a failed invocation. */
export class InvocationError extends Error {
  constructor(
    readonly functionName: FunctionName,
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvocationError';
  }
}

/** One finished invocation, as the host saw it (the sandbox keeps the last few thousand). */
export interface InvocationRecord {
  readonly function: FunctionName;
  readonly ok: boolean;
  readonly ms: number;
  /** The event's `request_id`, for the asynchronous targets (timer, fan-out). */
  readonly requestId?: string;
  /** AWS calls it made, by operation. */
  readonly calls: CallCounts;
}

/**
 * What Lambda's GetFunctionConfiguration answers about a function
 * (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html), as far as the sandbox
 * knows it: the manifest's settings, the environment it gives the function, and the Node.js it really runs on.
 */
export interface FunctionConfiguration {
  readonly FunctionName: string;
  readonly FunctionArn: string;
  readonly Runtime: string;
  readonly Role: string;
  readonly Handler: string;
  readonly CodeSize: number;
  readonly Description: string;
  readonly Timeout: number;
  readonly MemorySize: number;
  /** ISO 8601 as Lambda writes it (`2026-11-27T10:00:00.000+0000`): here, when the sandbox started. */
  readonly LastModified: string;
  readonly Version: '$LATEST';
  readonly Environment: { readonly Variables: Record<string, string> };
  readonly State: 'Active';
  readonly LastUpdateStatus: 'Successful';
  readonly PackageType: 'Zip';
  readonly Architectures: readonly string[];
}

/**
 * Variables Lambda sets in every execution environment itself ("reserved"): not part of a function's
 * configuration, so GetFunctionConfiguration leaves them out
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-runtime.html).
 */
const RESERVED_VARIABLES = new Set(['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_LAMBDA_INITIALIZATION_TYPE']);

export interface LambdaHostOptions {
  stage: string;
  env: Record<string, string>;
  /** Each function's role credentials: its containers see them as AWS_ACCESS_KEY_ID and co. */
  roleCredentials: Record<FunctionName, RoleCredentials>;
  onLogLine: (line: string) => void;
  /** `lambda` faults make an invocation fail as if the handler had thrown, or crash it after an AWS call. */
  faults?: Faults;
  /** Worker threads in each of the two pools (request path, asynchronous targets). @default the number of cores */
  concurrency?: number;
  /**
   * Containers one function may have at once; more concurrent invocations wait
   * for one to be free (as with reserved concurrency, but queued instead of throttled).
   * @default 32
   */
  maxContainersPerFunction?: number;
}

/** The ARN a function of the manifest has in the sandbox (what schedules target). */
export const functionArn = (stage: string, name: FunctionName): string =>
  `arn:aws:lambda:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:function:${lambdaFunctionName(stage, name)}`;

/** The function's name in the sandbox (CloudFormation names them in AWS). */
export const lambdaFunctionName = (stage: string, name: FunctionName): string => functionName(stage, name);

interface Container {
  readonly id: number;
  readonly name: FunctionName;
  readonly worker: number;
  busy: boolean;
}

interface Pending {
  /** A warm-up load, not an invocation: its container is released by `warm`. */
  readonly load?: true;
  readonly started: number;
  readonly name: FunctionName;
  readonly container: Container;
  readonly event: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class LambdaHost {
  private readonly workers: Worker[];
  private readonly containers = new Map<FunctionName, Container[]>();
  /** Invocations waiting for a container of their function (at its limit). */
  private readonly waiting = new Map<FunctionName, (() => void)[]>();
  private readonly pending = new Map<number, Pending>();
  private readonly maxContainers: number;
  private readonly poolSize: number;
  /** The latest finished invocations, oldest first. */
  readonly finished: InvocationRecord[] = [];
  private nextId = 1;
  private nextContainer = 1;
  /** When the functions were "deployed": the sandbox's start. */
  private readonly deployedAt = new Date();

  private constructor(
    private readonly options: LambdaHostOptions,
    private readonly bundles: Record<FunctionName, string>,
  ) {
    this.maxContainers = options.maxContainersPerFunction ?? 32;
    // Two pools of `concurrency` threads: the request path's functions and the asynchronous targets (timer, fan-out).
    // In AWS a broadcast's containers never share a CPU with an intake's; here they share the cores, but not an event
    // loop, so the OS time-slices an intake's thread instead of queueing it behind a shard's pushes.
    this.poolSize = Math.max(1, options.concurrency ?? availableParallelism());
    this.workers = Array.from({ length: 2 * this.poolSize }, (_, index) => this.startWorker(index));
    const faults = options.faults;
    // Containers check each AWS call against the armed crashes: keep every worker's copy current.
    faults?.onChange(() => this.broadcast({ crashes: faults.crashes() }));
  }

  /** Bundles the handlers (once per process), then starts the workers. */
  static async start(options: LambdaHostOptions): Promise<LambdaHost> {
    return new LambdaHost(options, await functionBundles());
  }

  arnOf(name: FunctionName): string {
    return functionArn(this.options.stage, name);
  }

  functionOfArn(arn: string): FunctionName | undefined {
    return (Object.keys(functions) as FunctionName[]).find((name) => arn === this.arnOf(name) || arn.startsWith(`${this.arnOf(name)}:`));
  }

  /** The function's configuration, as GetFunctionConfiguration answers it. */
  configuration(name: FunctionName): FunctionConfiguration {
    const spec: FunctionSpec = functions[name];
    const functionName = lambdaFunctionName(this.options.stage, name);
    return {
      FunctionName: functionName,
      FunctionArn: this.arnOf(name),
      Runtime: `nodejs${process.versions.node.split('.')[0]}.x`,
      // The role sandbox/iam.ts gives the function's credentials.
      Role: `arn:aws:iam::${SANDBOX_ACCOUNT}:role/${name}-role`,
      // NodejsFunction's handler: the bundle's `handler` export.
      Handler: 'index.handler',
      CodeSize: statSync(fileURLToPath(this.bundles[name])).size,
      Description: spec.description,
      Timeout: timeoutSecondsOf(spec),
      MemorySize: memoryMbOf(spec),
      LastModified: this.deployedAt.toISOString().replace('Z', '+0000'),
      Version: '$LATEST',
      Environment: { Variables: Object.fromEntries(Object.entries(this.options.env).filter(([variable]) => !RESERVED_VARIABLES.has(variable))) },
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Zip',
      Architectures: [process.arch === 'arm64' ? 'arm64' : 'x86_64'],
    };
  }

  /** Containers per function now (idle and busy), for tests and the operator. */
  containerCounts(): Partial<Record<FunctionName, number>> {
    return Object.fromEntries([...this.containers].map(([name, list]) => [name, list.length]));
  }

  async invoke(name: FunctionName, event: unknown): Promise<unknown> {
    const serialized = JSON.stringify(event) ?? '';
    const fault = this.options.faults?.take('lambda', name, serialized);
    if (fault) throw new InvocationError(name, fault.error, fault.message ?? `Injected fault: ${fault.error}`);
    const container = await this.acquire(name);
    const id = this.nextId++;
    // The function's own timeout, as the stack configures it: a handler still running then fails.
    const timeoutSeconds = timeoutSecondsOf(functions[name]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda stops the container of a timed-out invocation: it is not used again.
        this.retire(id, new InvocationError(name, 'Sandbox.Timedout', `Task timed out after ${timeoutSeconds} seconds`));
      }, timeoutSeconds * 1000);
      this.pending.set(id, { name, container, event: serialized, resolve, reject, timer, started: performance.now() });
      this.workers[container.worker]!.postMessage({
        id,
        container: container.id,
        function: name,
        bundle: this.bundles[name],
        event,
        functionName: lambdaFunctionName(this.options.stage, name),
        functionArn: this.arnOf(name),
        timeoutMs: timeoutSeconds * 1000,
      } satisfies Invocation);
    });
  }

  /** Starts one container of every function now, so the first requests do not each pay a cold start. */
  async warm(): Promise<void> {
    await Promise.all((Object.keys(functions) as FunctionName[]).map((name) => this.release(this.startContainer(name), true)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private broadcast(message: unknown): void {
    for (const worker of this.workers) worker.postMessage(message);
  }

  private startWorker(index: number): Worker {
    const worker = new Worker(new URL('./lambda-container.mjs', import.meta.url), {
      env: { ...process.env, ...this.options.env },
      workerData: { roleCredentials: this.options.roleCredentials },
      stdout: true,
      stderr: true,
    });
    createInterface({ input: worker.stdout }).on('line', this.options.onLogLine);
    createInterface({ input: worker.stderr }).on('line', this.options.onLogLine);
    worker.on('message', (answer: InvocationResult) => this.settle(answer));
    worker.on('error', (error) => {
      for (const [id, call] of this.pending)
        if (call.container.worker === index) this.retire(id, new InvocationError(call.name, 'Runtime.ExitError', error.message));
    });
    return worker;
  }

  private async acquire(name: FunctionName): Promise<Container> {
    for (;;) {
      const list = this.containers.get(name) ?? [];
      const idle = list.find((c) => !c.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (list.length < this.maxContainers) return this.startContainer(name);
      await new Promise<void>((wake) => this.waiting.set(name, [...(this.waiting.get(name) ?? []), wake]));
    }
  }

  /** A new container, on the worker running the fewest busy containers. */
  private startContainer(name: FunctionName): Container {
    const first = isAsyncTarget(name) ? this.poolSize : 0;
    const pool = Array.from({ length: this.poolSize }, (_, i) => first + i);
    const busy = pool.map((index) => [...this.containers.values()].flat().filter((c) => c.worker === index && c.busy).length);
    const container: Container = { id: this.nextContainer++, name, worker: pool[busy.indexOf(Math.min(...busy))]!, busy: true };
    this.containers.set(name, [...(this.containers.get(name) ?? []), container]);
    return container;
  }

  /** Frees a container (warming: after a dummy load) and wakes one invocation waiting for it. */
  private async release(container: Container, warming = false): Promise<void> {
    if (warming) await this.load(container);
    container.busy = false;
    this.waiting.get(container.name)?.shift()?.();
  }

  /** Imports the container's bundle without invoking it. */
  private load(container: Container): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`container of ${container.name} did not load`)), 60_000);
      this.pending.set(id, { load: true, name: container.name, container, event: '', resolve, reject, timer, started: performance.now() });
      this.workers[container.worker]!.postMessage({ load: container.id, id, bundle: this.bundles[container.name] });
    });
  }

  private settle(answer: InvocationResult): void {
    const call = this.pending.get(answer.id);
    if (!call) return;
    if ('crashed' in answer) {
      this.options.faults?.crashed(call.name, answer.crashed, call.event);
      this.retire(
        answer.id,
        new InvocationError(call.name, 'Runtime.ExitError', `Runtime exited with error: signal: killed (injected crash after ${answer.crashed})`),
      );
      return;
    }
    this.pending.delete(answer.id);
    clearTimeout(call.timer);
    if (!call.load) {
      void this.release(call.container);
      const requestId = (JSON.parse(call.event || '{}') as { request_id?: unknown }).request_id;
      this.finished.push({
        function: call.name,
        ok: answer.ok,
        ms: Math.round(performance.now() - call.started),
        ...(typeof requestId === 'string' ? { requestId } : {}),
        calls: answer.calls ?? {},
      });
      if (this.finished.length > 5000) this.finished.splice(0, this.finished.length - 5000);
    }
    if (answer.ok) call.resolve(answer.result);
    else call.reject(new InvocationError(call.name, answer.error.name, answer.error.message));
  }

  /** Fails the invocation and drops its container for good (timed out or crashed). */
  private retire(id: number, error: InvocationError): void {
    const call = this.pending.get(id);
    if (!call) return;
    this.pending.delete(id);
    clearTimeout(call.timer);
    const list = this.containers.get(call.name) ?? [];
    this.containers.set(
      call.name,
      list.filter((c) => c !== call.container),
    );
    this.workers[call.container.worker]!.postMessage({ retire: call.container.id });
    this.waiting.get(call.name)?.shift()?.();
    call.reject(error);
  }
}
