/**
 * Lambda's asynchronous invocation (`InvocationType: Event`), the way
 * EventBridge Scheduler invokes its targets: the invoke is accepted at once
 * and the event queued; Lambda runs the function, and when the run fails (it
 * threw, timed out or its container died) runs it twice more, after
 * `retryDelaysMs` (AWS: about one, then two minutes), then sends AWS's
 * invocation record to the function's on-failure destination
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html,
 * .../invocation-async-retain-records.html). The queue lives in
 * `async-invocations.json`, retry times in it rather than in timers, so a
 * restart loses no event, and a run cut short by a crash runs again (at least
 * once, as in AWS). Records sent to a destination (an SQS queue in the stack)
 * are kept in `lambda-dead-letters.json`.
 */
import { randomUUID } from 'node:crypto';
import type { FunctionName } from '../contract/routes';
import { DueLoop } from './due-loop';
import { DeadLetterQueue } from './dead-letter-queue';
import { JsonFile } from './json-file';

/** Lambda's default: two retries after the first attempt. */
export const ASYNC_ATTEMPTS = 3;
/** About one minute, then two, as AWS documents. */
export const DEFAULT_ASYNC_RETRY_DELAYS_MS = [60_000, 120_000] as const;

/** What Lambda sends to an on-failure destination (the function's DLQ here), in AWS's shape. */
export interface OnFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted'; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: 200; executedVersion: '$LATEST'; functionError: 'Unhandled' };
  responsePayload: { errorType: string; errorMessage: string };
}

/** A record as it sits in the destination queue. */
export interface LambdaDeadLetter {
  /** The message's id in the queue (SQS's MessageId): what `DELETE /dev/dead-letters/{id}` removes. */
  message_id: string;
  destination_arn: string;
  /** ISO time it was sent. */
  at: string;
  record: OnFailureRecord;
}

interface QueuedEvent {
  id: string;
  function: FunctionName;
  payload: unknown;
  /** Runs that failed so far. */
  failures: number;
  nextAttemptAt: number;
  lastError?: { errorType: string; errorMessage: string };
}

export interface AsyncInvokerOptions {
  dataDir?: string;
  /** Runs the function once; throws when the run failed. */
  run: (name: FunctionName, payload: unknown) => Promise<unknown>;
  /** The function's ARN, for the record. */
  arnOf: (name: FunctionName) => string;
  /** Where the function's on-failure records go (the SQS queue ARN); undefined drops them, as Lambda does without a destination. */
  onFailureDestination: (name: FunctionName) => string | undefined;
  log: (line: string) => void;
  /** @default [60000, 120000] */
  retryDelaysMs?: readonly number[];
  /** How often due events are looked for. @default 100 */
  tickMs?: number;
}

export class AsyncInvoker {
  private readonly file: JsonFile<QueuedEvent[]>;
  private readonly queue: QueuedEvent[];
  private readonly dead: DeadLetterQueue<LambdaDeadLetter>;
  private readonly retryDelaysMs: readonly number[];
  private readonly loop: DueLoop<QueuedEvent>;
  private stopped = false;

  constructor(private readonly options: AsyncInvokerOptions) {
    this.file = new JsonFile<QueuedEvent[]>(options.dataDir, 'async-invocations.json');
    this.queue = this.file.read([]);
    this.dead = new DeadLetterQueue<LambdaDeadLetter>(options.dataDir, 'lambda-dead-letters.json');
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_ASYNC_RETRY_DELAYS_MS;
    this.loop = new DueLoop(
      options.tickMs ?? 100,
      (now) => this.queue.filter((event) => event.nextAttemptAt <= now).map((event) => [event.id, event] as const),
      (_id, event) => this.attempt(event),
    );
  }

  /** `Invoke` with `InvocationType: Event`: accepted now (202), run soon. */
  invoke(name: FunctionName, payload: unknown): void {
    this.queue.push({ id: randomUUID(), function: name, payload, failures: 0, nextAttemptAt: Date.now() });
    this.save();
    this.loop.tick();
  }

  /** The records sent to on-failure destinations. */
  deadLetters(): LambdaDeadLetter[] {
    return this.dead.list();
  }

  /** Takes one record off the destination queue (SQS's DeleteMessage, once it was replayed); false when it is not there. */
  removeDeadLetter(messageId: string): boolean {
    return this.dead.delete(messageId);
  }

  start(): void {
    this.loop.start();
  }

  /**
   * Stops taking events off the queue, without waiting for the runs under way
   * (a timer's run may wait two minutes for its deadline): their events stay
   * queued, so the next start runs them again — at least once, as Lambda runs
   * again an invocation cut short.
   */
  stop(): void {
    this.stopped = true;
    this.loop.halt();
  }

  private async attempt(event: QueuedEvent): Promise<void> {
    try {
      await this.options.run(event.function, event.payload);
      if (this.stopped) return;
      return this.remove(event);
    } catch (error) {
      if (this.stopped) return;
      event.failures++;
      event.lastError = { errorType: (error as { errorName?: string }).errorName ?? (error as Error).name ?? 'Error', errorMessage: (error as Error).message };
    }
    if (event.failures < ASYNC_ATTEMPTS) {
      const delay = this.retryDelaysMs[event.failures - 1] ?? this.retryDelaysMs.at(-1)!;
      event.nextAttemptAt = Date.now() + delay;
      this.save();
      this.options.log(
        `lambda: ${event.function} failed (attempt ${event.failures} of ${ASYNC_ATTEMPTS}), retried in ${delay} ms: ${event.lastError!.errorMessage}`,
      );
      return;
    }
    const destination = this.options.onFailureDestination(event.function);
    const record: OnFailureRecord = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: event.id,
        functionArn: `${this.options.arnOf(event.function)}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: event.failures,
      },
      requestPayload: event.payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: event.lastError!,
    };
    if (destination) {
      this.dead.send({ message_id: randomUUID(), destination_arn: destination, at: record.timestamp, record });
    }
    this.options.log(
      `lambda: ${event.function} failed ${event.failures} times; event ${destination ? `sent to ${destination}` : 'dropped (no on-failure destination)'}: ${event.lastError!.errorMessage}`,
    );
    this.remove(event);
  }

  private remove(event: QueuedEvent): void {
    const index = this.queue.indexOf(event);
    if (index >= 0) this.queue.splice(index, 1);
    this.save();
  }

  private save(): void {
    this.file.write(this.queue);
  }
}
