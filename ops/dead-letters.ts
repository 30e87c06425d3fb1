/**
 * `dead-letters list|replay`: what the stack's DLQ holds (README "Drain the DLQ"). Two kinds of message share it:
 * Scheduler's (it could not invoke the timer; the event is the schedule's input) and Lambda's on-failure record
 * (the timer or the fan-out failed 3 runs; the event is `requestPayload`). A replay invokes that function again,
 * asynchronously, with that event; the letter is deleted only once Lambda accepted the invoke, so a failed
 * replay loses nothing.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { callApi } from './clients';
import { OpsError } from './errors';
import type { Target } from './target';

export interface DeadLetter {
  /** The message's id in the queue. */
  id: string;
  /** When it reached the queue. */
  at: string;
  kind: 'scheduler' | 'lambda';
  /** The function to replay it on (its ARN, unqualified). */
  function_arn: string;
  /** The event the function failed on, or was never given. */
  event: unknown;
  error: string;
}

/** The queue as a command sees it: the sandbox's dev routes, or (not yet) SQS. */
export interface DeadLetterQueue {
  list(): Promise<DeadLetter[]>;
  remove(id: string): Promise<void>;
}

/** The sandbox keeps its DLQ in files, reached by `GET /dev/dead-letters` and `DELETE /dev/dead-letters/{id}`. */
export function sandboxDeadLetterQueue(target: Target): DeadLetterQueue {
  return {
    list: async () => (await callApi<{ dead_letters: SandboxDeadLetter[] }>(target, 'GET', '/dev/dead-letters')).dead_letters.map(fromSandbox),
    remove: async (id) => {
      await callApi(target, 'DELETE', `/dev/dead-letters/${encodeURIComponent(id)}`);
    },
  };
}

/**
 * Against AWS the queue is SQS (the `DeadLetterQueueUrl` output); receiving and deleting its messages needs
 * `@aws-sdk/client-sqs`, which is not a dependency yet. Until it is, the runbook's `aws sqs` lines do it.
 */
export function awsDeadLetterQueue(): DeadLetterQueue {
  const unsupported = (): never => {
    throw new OpsError(
      'unsupported',
      'dead-letters against a deployed stage needs @aws-sdk/client-sqs (not a dependency yet): use README "Drain the DLQ" (aws sqs receive-message …)',
    );
  };
  return { list: async () => unsupported(), remove: async () => unsupported() };
}

/** What `GET /dev/dead-letters` lists (sandbox/scheduler.ts `DeadLetter`, sandbox/lambda-async.ts `LambdaDeadLetter`). */
export type SandboxDeadLetter =
  | { message_id: string; at: string; target_arn: string; input: string; error: string }
  | {
      message_id: string;
      at: string;
      record: { requestContext: { functionArn: string }; requestPayload: unknown; responsePayload: { errorType: string; errorMessage: string } };
    };

export function fromSandbox(letter: SandboxDeadLetter): DeadLetter {
  if ('record' in letter) {
    const { requestContext, requestPayload, responsePayload } = letter.record;
    return {
      id: letter.message_id,
      at: letter.at,
      kind: 'lambda',
      function_arn: unqualified(requestContext.functionArn),
      event: requestPayload,
      error: `${responsePayload.errorType}: ${responsePayload.errorMessage}`,
    };
  }
  return { id: letter.message_id, at: letter.at, kind: 'scheduler', function_arn: letter.target_arn, event: JSON.parse(letter.input), error: letter.error };
}

/** `arn:aws:lambda:…:function:name:$LATEST` → `arn:aws:lambda:…:function:name`: a replay runs the current code. */
const unqualified = (arn: string): string => arn.split(':').slice(0, 7).join(':');

export interface Replayed {
  id: string;
  function_arn: string;
  replayed: boolean;
  error?: string;
}

/**
 * Replays the letters one by one: invoke (`Event`: Lambda retries it twice and dead-letters it again if it fails
 * again), then delete. A letter whose invoke was refused stays in the queue and is reported.
 */
export async function replayDeadLetters(deps: { queue: DeadLetterQueue; lambda: LambdaClient }, ids: readonly string[] | 'all'): Promise<Replayed[]> {
  const letters = await deps.queue.list();
  const chosen = ids === 'all' ? letters : ids.map((id) => letters.find((letter) => letter.id === id) ?? id);
  const missing = chosen.filter((letter): letter is string => typeof letter === 'string');
  if (missing.length > 0) throw new OpsError('not_found', `no dead letter has the id ${missing.join(', ')} (dead-letters list shows them)`);
  const results: Replayed[] = [];
  for (const letter of chosen as DeadLetter[]) {
    try {
      const { StatusCode } = await deps.lambda.send(
        new InvokeCommand({ FunctionName: letter.function_arn, InvocationType: 'Event', Payload: JSON.stringify(letter.event) }),
      );
      if (StatusCode !== 202) throw new Error(`Lambda answered ${StatusCode}, not 202`);
    } catch (error) {
      results.push({ id: letter.id, function_arn: letter.function_arn, replayed: false, error: `${(error as Error).name}: ${(error as Error).message}` });
      continue;
    }
    await deps.queue.remove(letter.id);
    results.push({ id: letter.id, function_arn: letter.function_arn, replayed: true });
  }
  return results;
}
