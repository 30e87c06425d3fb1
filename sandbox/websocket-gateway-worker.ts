/**
 * Runs in the WebSocket gateway's own thread (websocket-gateway-thread.ts):
 * the gateway of websocket-gateway.ts, with its route invocations, log lines
 * and fault answers asked of the main thread by message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FunctionName } from '../contract/routes';
import { type ActiveFault, type FaultService, faultMatches } from './faults';
import { SandboxPrincipals } from './iam';
import type { FromGateway, GatewayThreadData, ToGateway } from './websocket-gateway-thread';
import { startWebSocketGateway } from './websocket-gateway';

const data = workerData as GatewayThreadData;
const post = (message: FromGateway): void => parentPort!.postMessage(message);
const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextId = 1;
let armed: ActiveFault[] = [];

function ask<T>(message: (id: number) => FromGateway): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
    post(message(id));
  });
}

try {
  const gateway = await startWebSocketGateway({
    port: data.port,
    host: data.host,
    stage: data.stage,
    idleTimeoutMs: data.idleTimeoutMs,
    maxConnectionMs: data.maxConnectionMs,
    principals: new SandboxPrincipals(data.principals),
    throttles: data.throttles,
    log: (line) => post({ log: line }),
    invoke: (fn: FunctionName, event: unknown) => ask((id) => ({ invoke: id, fn, event })),
    faults: {
      take: (service: FaultService, operation: string, target: string) =>
        // Main decides only when a fault may apply (per the latest copy): a push with none armed never leaves this thread.
        armed.some((f) => faultMatches(f, service, operation, target))
          ? ask<ActiveFault | undefined>((id) => ({ take: id, service, operation, target }))
          : undefined,
    },
  });
  parentPort!.on('message', (message: ToGateway) => {
    if ('faults' in message) armed = message.faults;
    else if ('answer' in message) {
      const call = waiting.get(message.answer);
      waiting.delete(message.answer);
      if (message.ok) call?.resolve(message.result);
      else call?.reject(new Error(message.message));
    } else if ('fault' in message) {
      waiting.get(message.fault)?.resolve(message.found);
      waiting.delete(message.fault);
    } else if ('close' in message) void gateway.close().then(() => post({ closed: true }));
  });
  post({ ready: { url: gateway.url, port: gateway.port, connectionsEndpoint: gateway.connectionsEndpoint } });
} catch (error) {
  post({ failed: (error as Error).message });
}
