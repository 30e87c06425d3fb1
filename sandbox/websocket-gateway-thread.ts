/**
 * The WebSocket gateway on a thread of its own, as API Gateway is a service of
 * its own: a broadcast's thousands of `@connections` calls (HTTP parsing,
 * SigV4 checks, frames to every socket) then never queue the HTTP API's
 * requests and DynamoDB on the main thread's event loop. The gateway itself is
 * sandbox/websocket-gateway.ts, unchanged; this file carries its few calls
 * into the main thread (route invocations, log lines, a fault when one may
 * apply) as messages.
 */
import { Worker } from 'node:worker_threads';
import type { FunctionName } from '../contract/routes';
import type { StageThrottles } from '../contract/throttles';
import type { ActiveFault, FaultService, Faults } from './faults';
import type { SandboxPrincipals, SerializedPrincipals } from './iam';
import type { WebSocketGateway, WebSocketGatewayOptions } from './websocket-gateway';

/** What the thread is started with. */
export interface GatewayThreadData {
  port: number;
  host?: string;
  stage: string;
  idleTimeoutMs?: number;
  maxConnectionMs?: number;
  principals: SerializedPrincipals;
  throttles?: StageThrottles;
}

/** Thread → main. */
export type FromGateway =
  | { ready: { url: string; port: number; connectionsEndpoint: string } }
  | { failed: string }
  | { log: string }
  | { invoke: number; fn: FunctionName; event: unknown }
  | { take: number; service: FaultService; operation: string; target: string }
  | { closed: true };

/** Main → thread. */
export type ToGateway =
  | { answer: number; ok: true; result: unknown }
  | { answer: number; ok: false; message: string }
  | { fault: number; found: ActiveFault | undefined }
  | { faults: ActiveFault[] }
  | { close: true };

export async function startWebSocketGatewayThread(
  options: Omit<WebSocketGatewayOptions, 'faults' | 'principals' | 'now'> & { faults?: Faults; principals: SandboxPrincipals },
): Promise<WebSocketGateway> {
  const data: GatewayThreadData = {
    port: options.port,
    host: options.host,
    stage: options.stage,
    idleTimeoutMs: options.idleTimeoutMs,
    maxConnectionMs: options.maxConnectionMs,
    principals: options.principals.toJSON(),
    throttles: options.throttles,
  };
  const worker = new Worker(new URL('./websocket-gateway-worker.mjs', import.meta.url), { workerData: data });
  const post = (message: ToGateway): void => worker.postMessage(message);
  const { faults } = options;
  // The thread matches each `@connections` call against its copy, and asks here only when one may apply.
  const shareFaults = (): void => post({ faults: faults?.answers('connections') ?? [] });
  faults?.onChange(shareFaults);
  shareFaults();

  let closed: () => void = () => undefined;
  const ready = new Promise<{ url: string; port: number; connectionsEndpoint: string }>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: FromGateway) => {
      if ('ready' in message) resolve(message.ready);
      else if ('failed' in message) reject(new Error(message.failed));
      else if ('log' in message) options.log(message.log);
      else if ('invoke' in message)
        options.invoke(message.fn, message.event).then(
          (result) => post({ answer: message.invoke, ok: true, result }),
          (error: unknown) => post({ answer: message.invoke, ok: false, message: (error as Error).message }),
        );
      else if ('take' in message) post({ fault: message.take, found: faults?.take(message.service, message.operation, message.target) });
      else if ('closed' in message) closed();
    });
  });
  const { url, port, connectionsEndpoint } = await ready;
  return {
    url,
    port,
    connectionsEndpoint,
    close: async () => {
      await new Promise<void>((resolve) => {
        closed = resolve;
        post({ close: true });
      });
      await worker.terminate();
    },
  };
}
