/**
 * Dev-only fault injection: `POST /dev/faults` makes an emulated service fail
 * the way AWS fails (its error type, status and wire shape), so the real SDK
 * reacts as it would in AWS — retries, exception classes and all.
 *   {"service":"scheduler","operation":"CreateSchedule","error":"InternalServerException","times":1}
 * `times` 0 means "until cleared"; `match` narrows a fault to requests whose
 * target (connection id, parameter name, request body …) contains it.
 *   {"service":"lambda","operation":"intakeStart","error":"Crash","after":"PutItem"}
 * kills that function's invocation right after its first call of that AWS
 * operation returns, as a timeout or out-of-memory kill would.
 * `DELETE /dev/faults` clears them all.
 */

export const FAULT_SERVICES = ['dynamodb', 'ssm', 'scheduler', 'connections', 'lambda', 'lambda-api'] as const;
export type FaultService = (typeof FAULT_SERVICES)[number];

export interface FaultSpec {
  readonly service: FaultService;
  /**
   * AWS operation name (`PutItem`, `GetParameter`, `CreateSchedule`, `PostToConnection`, `Invoke` for `lambda-api`: the
   * API call fails and the function does not run) or, for `lambda`, the function name (its run fails). Omitted: every operation.
   */
  readonly operation?: string;
  /** The error type AWS would answer with, e.g. `ThrottlingException`. */
  readonly error: string;
  readonly message?: string;
  /** HTTP status; defaults from the error type. */
  readonly status?: number;
  /** How many requests fail. @default 1; 0 = until cleared */
  readonly times?: number;
  readonly match?: string;
  /** With `error: "Crash"` (service `lambda`): the AWS operation after whose return the invocation dies. */
  readonly after?: string;
  /** Which call of `after` (the second `UpdateItem` of an invocation: 2). @default 1 */
  readonly occurrence?: number;
}

/** A crash as a container checks it: which function (any when absent), which event (containing `match`), after which call. */
export interface CrashFault {
  readonly function?: string;
  readonly match?: string;
  /** `Operation#n`: the n-th call of that operation in the invocation. */
  readonly point: string;
}

export interface ActiveFault extends FaultSpec {
  readonly id: number;
  remaining: number | null;
  hits: number;
}

/**
 * Statuses AWS answers with for the usual error types. The JSON-protocol
 * services (DynamoDB, SSM) answer every client error with 400, whatever its
 * type; REST ones (Scheduler, `@connections`) vary by type.
 */
export function defaultStatus(error: string, protocol: 'json' | 'rest' = 'rest'): number {
  if (/ServiceUnavailable/.test(error)) return 503;
  if (/Internal/.test(error)) return 500;
  if (protocol === 'json') return 400;
  if (/Gone/.test(error)) return 410;
  if (/NotFound/.test(error)) return 404;
  if (/Conflict/.test(error)) return 409;
  if (/LimitExceeded|TooManyRequests/.test(error)) return 429;
  return 400; // Throttling, ProvisionedThroughputExceeded, Validation … are 400s in AWS's JSON protocols
}

export class Faults {
  private readonly active: ActiveFault[] = [];
  private nextId = 1;
  /** Every fault answered, for tests and the operator's summary. */
  injected = 0;

  constructor(private readonly log: (line: string) => void = () => undefined) {}

  add(spec: unknown): ActiveFault {
    const fault = validate(spec);
    const active: ActiveFault = { ...fault, id: this.nextId++, remaining: fault.times === 0 ? null : (fault.times ?? 1), hits: 0 };
    this.active.push(active);
    this.log(`faults: ${describe(active)} armed`);
    this.changed();
    return active;
  }

  list(): readonly ActiveFault[] {
    return this.active;
  }

  clear(): void {
    this.active.length = 0;
    this.log('faults: cleared');
    this.changed();
  }

  /** The fault this request must answer with, if any (and counts it). Crashes are not answers: see `crashPoints`. */
  take(service: FaultService, operation: string, target: string): ActiveFault | undefined {
    const fault = this.active.find((f) => f.after === undefined && faultMatches(f, service, operation, target));
    return fault && this.count(fault, service, operation);
  }

  private readonly listeners: (() => void)[] = [];

  /** Calls `listener` whenever faults are armed, used up or cleared (the Lambda host's workers and the WebSocket gateway's thread keep copies). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The armed answers (not crashes) of one service, as plain data for another thread to match requests against. */
  answers(service: FaultService): ActiveFault[] {
    return this.active.filter((f) => f.service === service && f.after === undefined).map((f) => ({ ...f }));
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** The armed crashes, for the containers to check at each AWS call. */
  crashes(): CrashFault[] {
    return this.active.filter((f) => f.after !== undefined).map((f) => ({ function: f.operation, match: f.match, point: crashPoint(f) }));
  }

  /** An invocation crashed at one of its crash points (`Operation#n`): counts that fault. */
  crashed(functionName: string, point: string, event: string): void {
    const fault = this.active.find((f) => f.after !== undefined && crashPoint(f) === point && faultMatches(f, 'lambda', functionName, event));
    if (fault) this.count(fault, 'lambda', `${functionName} after ${point}`);
  }

  private count(fault: ActiveFault, service: FaultService, operation: string): ActiveFault {
    fault.hits++;
    this.injected++;
    if (fault.remaining !== null && --fault.remaining === 0) {
      this.active.splice(this.active.indexOf(fault), 1);
      this.changed();
    }
    this.log(`faults: ${service} ${operation} answered ${fault.error}`);
    return fault;
  }
}

/** Whether a fault applies to this request. */
export const faultMatches = (f: FaultSpec, service: FaultService, operation: string, target: string): boolean =>
  f.service === service && (f.operation === undefined || f.operation === operation) && (f.match === undefined || target.includes(f.match));

/** What a gateway asks of the faults for each request: the answer to give instead of the real one, if any. */
export interface FaultAnswers {
  take(service: FaultService, operation: string, target: string): ActiveFault | undefined | Promise<ActiveFault | undefined>;
}

const crashPoint = (fault: FaultSpec): string => `${fault.after}#${fault.occurrence ?? 1}`;

function describe(fault: ActiveFault): string {
  return `#${fault.id} ${fault.service}${fault.operation ? ` ${fault.operation}` : ''} → ${fault.error} ${fault.remaining === null ? 'until cleared' : `×${fault.remaining}`}${fault.match ? ` matching "${fault.match}"` : ''}${fault.after ? ` after ${crashPoint(fault)}` : ''}`;
}

export class FaultSpecError extends Error {}

function validate(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new FaultSpecError('body must be a JSON object');
  const spec = input as Record<string, unknown>;
  if (!FAULT_SERVICES.includes(spec.service as FaultService)) throw new FaultSpecError(`service must be one of ${FAULT_SERVICES.join(', ')}`);
  if (typeof spec.error !== 'string' || !/^[A-Za-z.]{1,100}$/.test(spec.error))
    throw new FaultSpecError('error must be an AWS error type such as ThrottlingException');
  for (const field of ['operation', 'message', 'match', 'after'] as const) {
    if (spec[field] !== undefined && typeof spec[field] !== 'string') throw new FaultSpecError(`${field} must be a string`);
  }
  if (spec.times !== undefined && (!Number.isInteger(spec.times) || (spec.times as number) < 0))
    throw new FaultSpecError('times must be a whole number ≥ 0 (0 = until cleared)');
  if (spec.status !== undefined && (!Number.isInteger(spec.status) || (spec.status as number) < 400 || (spec.status as number) > 599))
    throw new FaultSpecError('status must be a 4xx or 5xx code');
  if (spec.occurrence !== undefined && (!Number.isInteger(spec.occurrence) || (spec.occurrence as number) < 1 || spec.after === undefined))
    throw new FaultSpecError('occurrence must be a whole number ≥ 1, with `after`');
  if ((spec.error === 'Crash') !== (spec.after !== undefined) || (spec.after !== undefined && spec.service !== 'lambda'))
    throw new FaultSpecError('a Crash fault is a lambda fault with `after`: the AWS operation after which the invocation dies');
  return spec as unknown as FaultSpec;
}
