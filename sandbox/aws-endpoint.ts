/**
 * One AWS endpoint (like LocalStack's :4566) routing each request by the
 * service name in its SigV4 credential scope, so the real SDK and the real
 * CLI reach DynamoDB, SSM and Scheduler through `--endpoint-url` alone.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError, readBody, send, sendJsonProtocolError, signingService, type AwsService } from './aws-wire';

export interface AwsEndpoint {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startAwsEndpoint(options: { host?: string; port: number; services: Record<string, AwsService> }): Promise<AwsEndpoint> {
  const server: Server = createServer((req, res) => {
    void route(options.services, req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(services: Record<string, AwsService>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const name = signingService(req);
  const service = name ? services[name] : undefined;
  try {
    if (!service) {
      // Unsigned or unknown: answer like AWS does to a request it cannot attribute.
      await readBody(req);
      throw new AwsError(400, 'UnrecognizedClientException', name ? `The sandbox does not emulate the ${name} service` : 'Missing or malformed SigV4 Authorization header');
    }
    // DynamoDB streams to dynalite untouched; the others get the body read.
    if (name === 'dynamodb') return void (await service(req, res, Buffer.alloc(0)));
    await service(req, res, await readBody(req));
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof AwsError) return sendJsonProtocolError(res, error);
    send(res, 500, { __type: 'InternalFailure', message: (error as Error).message });
  }
}
