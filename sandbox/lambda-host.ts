/**
 * The sandbox's Lambda service: one worker thread (a warm "container") that
 * hosts every handler of the manifest with the env the stack would set.
 * Handlers' log lines (stdout and stderr, as Lambda sends both to CloudWatch)
 * come back through `onLogLine`.
 */
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { functions, type FunctionName } from '../contract/routes';
import type { Faults } from './faults';
import type { Invocation, InvocationResult } from './lambda-container';

export const SANDBOX_ACCOUNT = '000000000000';
export const SANDBOX_REGION = 'us-east-1';

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

export interface LambdaHostOptions {
  stage: string;
  env: Record<string, string>;
  onLogLine: (line: string) => void;
  /** Like the function timeout: a handler still running after this fails. @default 29 s */
  timeoutMs?: number;
  /** `lambda` faults make an invocation fail as if the handler had thrown. */
  faults?: Faults;
}

/** The ARN a function of the manifest has in the sandbox (what schedules target). */
export const functionArn = (stage: string, name: FunctionName): string =>
  `arn:aws:lambda:${SANDBOX_REGION}:${SANDBOX_ACCOUNT}:function:${lambdaFunctionName(stage, name)}`;

/** The function's name in the sandbox (CloudFormation names them in AWS). */
export const lambdaFunctionName = (stage: string, name: FunctionName): string => `priority-dispatch-${stage}-${name}`;

export class LambdaHost {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout; name: FunctionName }
  >();
  private nextId = 1;

  constructor(private readonly options: LambdaHostOptions) {
    this.worker = new Worker(new URL('./lambda-container.mjs', import.meta.url), {
      env: { ...process.env, ...options.env },
      stdout: true,
      stderr: true,
    });
    createInterface({ input: this.worker.stdout }).on('line', options.onLogLine);
    createInterface({ input: this.worker.stderr }).on('line', options.onLogLine);
    this.worker.on('message', (answer: InvocationResult) => this.settle(answer));
    this.worker.on('error', (error) => {
      for (const [id, call] of this.pending) {
        clearTimeout(call.timer);
        call.reject(new InvocationError(call.name, 'Runtime.ExitError', error.message));
        this.pending.delete(id);
      }
    });
  }

  arnOf(name: FunctionName): string {
    return functionArn(this.options.stage, name);
  }

  functionOfArn(arn: string): FunctionName | undefined {
    return (Object.keys(functions) as FunctionName[]).find((name) => arn === this.arnOf(name) || arn.startsWith(`${this.arnOf(name)}:`));
  }

  invoke(name: FunctionName, event: unknown): Promise<unknown> {
    const fault = this.options.faults?.take('lambda', name, JSON.stringify(event) ?? '');
    if (fault) return Promise.reject(new InvocationError(name, fault.error, fault.message ?? `Injected fault: ${fault.error}`));
    return this.call({ function: name, event, functionName: lambdaFunctionName(this.options.stage, name), functionArn: this.arnOf(name) }, name);
  }

  /** Loads every handler now, so the first request does not pay for it. */
  async warm(): Promise<void> {
    await this.call({}, 'wsPing');
  }

  private call(message: Omit<Invocation, 'id'>, name: FunctionName): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new InvocationError(name, 'Sandbox.Timedout', `Task timed out after ${(this.options.timeoutMs ?? 29_000) / 1000} seconds`));
      }, this.options.timeoutMs ?? 29_000);
      this.pending.set(id, { resolve, reject, timer, name });
      this.worker.postMessage({ id, ...message } satisfies Invocation);
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }

  private settle(answer: InvocationResult): void {
    const call = this.pending.get(answer.id);
    if (!call) return;
    this.pending.delete(answer.id);
    clearTimeout(call.timer);
    if (answer.ok) call.resolve(answer.result);
    else call.reject(new InvocationError(call.name, answer.error.name, answer.error.message));
  }
}
