/**
 * `dead-letters list|replay`: what the stack's DLQ holds (README "Drain the DLQ"): the sandbox's files through its
 * dev routes, or the stack's SQS queue. Two kinds of message share it:
 * Scheduler's (it could not invoke the timer; the event is the schedule's input) and Lambda's on-failure record
 * (the timer or the fan-out failed 3 runs; the event is `requestPayload`). A replay invokes that function again,
 * asynchronously, with that event; the letter is deleted only once Lambda accepted the invoke, so a failed
 * replay loses nothing.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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

/** The queue as a command sees it: the sandbox's dev routes, or SQS. */
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
 * How long `list` hides what it received: SQS has no peek, a receive makes a message invisible for the
 * VisibilityTimeout. 0 would make a listed message reappear at once, so the next receive of the loop would
 * return it again and its receipt handle (needed to delete it) go stale; 30 s leaves a replay the time to
 * delete what it listed. Meanwhile other readers, and the DLQ alarm's visible-message count, do not see them.
 */
export const LIST_VISIBILITY_SECONDS = 30;
/** `list` stops after this many messages (10 receives of at most 10, SQS's maximum per call). */
export const LIST_CAP = 100;

/** The stack's DLQ (the `DeadLetterQueueUrl` output): ReceiveMessage to list, DeleteMessage by the receipt handle. */
export function sqsDeadLetterQueue(sqs: SQSClient, queueUrl: string): DeadLetterQueue {
  /** Message id → the receipt handle of its latest receive: SQS deletes by handle, and only the latest is sure to work. */
  const receipts = new Map<string, string>();
  return {
    list: async () => {
      const letters = new Map<string, DeadLetter>();
      while (letters.size < LIST_CAP) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: LIST_VISIBILITY_SECONDS,
            // Long polling asks every SQS server; a short poll samples some and may answer empty while messages wait.
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['SentTimestamp'],
          }),
        );
        if (Messages.length === 0) break;
        for (const message of Messages) {
          const letter = fromSqs(message);
          // A standard queue may deliver a message twice: keyed by id, it is listed once.
          letters.set(letter.id, letter);
          receipts.set(letter.id, message.ReceiptHandle ?? '');
        }
      }
      return [...letters.values()];
    },
    remove: async (id) => {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receipts.get(id) }));
    },
  };
}

/**
 * One DLQ message as a dead letter. Two senders write to the queue (lib/constructs/request-timers.ts):
 * - Lambda's on-failure destination of the timer and the fan-out: the body is the invocation record,
 *   `{version, timestamp, requestContext: {requestId, functionArn, condition, approximateInvokeCount},
 *   requestPayload, responseContext, responsePayload}`
 *   (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
 * - EventBridge Scheduler's dead-letter queue of the timer schedules: the body is the schedule's input, the
 *   message attributes ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, SCHEDULE_ARN,
 *   TARGET_ARN, … say what failed
 *   (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html, "Retrieve the dead-letter event").
 */
export function fromSqs(message: Pick<Message, 'MessageId' | 'Body' | 'Attributes' | 'MessageAttributes'>): DeadLetter {
  const id = message.MessageId ?? '';
  const at = new Date(Number(message.Attributes?.SentTimestamp)).toISOString();
  const body = parseBody(message.Body ?? '');
  if (isOnFailureRecord(body)) return fromOnFailureRecord(id, at, body);
  const attribute = (name: string): string | undefined => message.MessageAttributes?.[name]?.StringValue;
  const target = attribute('TARGET_ARN');
  if (target === undefined) {
    throw new OpsError('unknown_dead_letter', `message ${id} is neither a Lambda on-failure record nor a Scheduler dead letter: ${message.Body}`);
  }
  return {
    id,
    at,
    kind: 'scheduler',
    function_arn: unqualified(target),
    event: body,
    error: `${attribute('ERROR_CODE')}: ${attribute('ERROR_MESSAGE')} (schedule ${attribute('SCHEDULE_ARN')?.split('/').at(-1)})`,
  };
}

/** Scheduler truncates an input too large for SQS (attribute IS_PAYLOAD_TRUNCATED), which then is no JSON: kept as text. */
function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** Lambda's invocation record, in the parts a dead letter needs. */
interface OnFailureRecord {
  requestContext: { functionArn: string; condition?: string };
  requestPayload: unknown;
  /** The function's error; absent when the event expired unrun (condition `EventAgeExceeded`). */
  responsePayload?: { errorType?: string; errorMessage?: string };
}

const isOnFailureRecord = (body: unknown): body is OnFailureRecord => typeof (body as OnFailureRecord | null)?.requestContext?.functionArn === 'string';

function fromOnFailureRecord(id: string, at: string, record: OnFailureRecord): DeadLetter {
  const { errorType, errorMessage } = record.responsePayload ?? {};
  return {
    id,
    at,
    kind: 'lambda',
    function_arn: unqualified(record.requestContext.functionArn),
    event: record.requestPayload,
    // A runtime crash ("Process exited before completing request") has an errorMessage and no errorType.
    error: [errorType, errorMessage].filter(Boolean).join(': ') || String(record.requestContext.condition),
  };
}

/** What `GET /dev/dead-letters` lists (sandbox/scheduler.ts `DeadLetter`, sandbox/lambda-async.ts `LambdaDeadLetter`). */
export type SandboxDeadLetter =
  | { message_id: string; at: string; target_arn: string; input: string; error: string }
  | { message_id: string; at: string; record: OnFailureRecord };

export function fromSandbox(letter: SandboxDeadLetter): DeadLetter {
  if ('record' in letter) return fromOnFailureRecord(letter.message_id, letter.at, letter.record);
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
