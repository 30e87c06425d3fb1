/**
 * Fan-out through Lambda's asynchronous invocation: the message and its
 * audience go to the fan-out function as one event (`InvocationType: Event`),
 * which Lambda queues durably and retries (twice) if a run fails, so the
 * caller answers as soon as the event is accepted (HTTP 202).
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Audience } from '../domain/booking';
import type { ServerMessage } from '../domain/messages';
import type { Exclusion, FanOut } from '../ports';

/** The fan-out function's input. */
export interface FanOutEvent {
  readonly request_id: string;
  readonly audience: Audience;
  readonly message: ServerMessage;
  readonly except_connection_id?: string;
  readonly except_mechanic_id?: string;
}

export class LambdaFanOut implements FanOut {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async send(requestId: string, audience: Audience, message: ServerMessage, options: Exclusion = {}): Promise<void> {
    const event: FanOutEvent = {
      request_id: requestId,
      audience,
      message,
      ...(options.exceptConnectionId ? { except_connection_id: options.exceptConnectionId } : {}),
      ...(options.exceptMechanicId ? { except_mechanic_id: options.exceptMechanicId } : {}),
    };
    const { StatusCode } = await this.client.send(
      new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
    );
    if (StatusCode !== 202) throw new Error(`Lambda did not queue the fan-out (status ${StatusCode})`);
  }
}
