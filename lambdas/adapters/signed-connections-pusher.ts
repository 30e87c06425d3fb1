/**
 * Pushes to connections through API Gateway's `@connections` management API
 * with one signed HTTP request each: AWS's own SigV4 signer
 * (`@smithy/signature-v4`, what the SDK signs with), credentials from the
 * SDK's provider chain (the Lambda role's, from the environment), over a
 * keep-alive agent with as many sockets as pushes run at once.
 *
 * Why not the SDK's ApiGatewayManagementApiClient: a broadcast is thousands of
 * identical tiny POSTs, and the client's middleware stack, serializers and
 * per-call signing setup cost about 550 µs of CPU per push against 109 µs for
 * this (issue #9; `npm run bench` measures both against a raw POST).
 * Retrying is the caller's (tell-mechanics: backoff with jitter); this says
 * which failures are worth it.
 */
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { ServerMessage } from '../domain/messages';
import { PushFailedError, type PushResult, type Pusher } from '../ports';
import { Sha256 } from './sha256';

export interface SignedConnectionsPusherOptions {
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** Sockets kept open to the endpoint: the number of pushes that run at once. */
  maxSockets: number;
  /** A push with no answer by then fails (and may be retried). @default 5000 */
  timeoutMs?: number;
  /** The server time each message's `sent_at` gives. @default the system clock */
  now?: () => Date;
}

export class SignedConnectionsPusher implements Pusher {
  private readonly endpoint: URL;
  private readonly signer: SignatureV4;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  /** The stage's path, `/{stage}`, that `@connections/{id}` follows. */
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly now: () => Date;

  /** `endpoint` is the stage's management URL, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`. */
  constructor(endpoint: string, options: SignedConnectionsPusherOptions) {
    if (!options.region) throw new Error('SignedConnectionsPusher needs the region it signs for');
    this.endpoint = new URL(endpoint);
    this.signer = new SignatureV4({ service: 'execute-api', region: options.region, credentials: options.credentials, sha256: Sha256 });
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets };
    const https = this.endpoint.protocol === 'https:';
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.request = https ? httpsRequest : httpRequest;
    this.basePath = this.endpoint.pathname.replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.now = options.now ?? (() => new Date());
  }

  async send(connectionId: string, message: ServerMessage): Promise<PushResult> {
    // Stamped as it leaves: a retried push says when this attempt was sent (clients correct a skewed clock by it).
    const { status, errorType } = await this.call('POST', connectionId, JSON.stringify({ ...message, sent_at: this.now().toISOString() }));
    if (status === 200) return 'sent';
    if (status === 410) return 'gone';
    throw failure('PostToConnection', status, errorType);
  }

  async disconnect(connectionId: string): Promise<void> {
    const { status, errorType } = await this.call('DELETE', connectionId);
    if (status === 204 || status === 200 || status === 410) return;
    throw failure('DeleteConnection', status, errorType);
  }

  /** Closes the kept-alive sockets (tests; a Lambda container just freezes). */
  close(): void {
    this.agent.destroy();
  }

  private async call(method: 'POST' | 'DELETE', connectionId: string, body?: string): Promise<{ status: number; errorType: string }> {
    const headers: Record<string, string> = { host: this.endpoint.host };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const signed = await this.signer.sign({
      method,
      protocol: this.endpoint.protocol,
      hostname: this.endpoint.hostname,
      port: this.endpoint.port ? Number(this.endpoint.port) : undefined,
      path: `${this.basePath}/@connections/${encodeURIComponent(connectionId)}`,
      query: {},
      headers,
      body,
    });
    return new Promise((resolve, reject) => {
      const request = this.request(
        {
          method,
          host: this.endpoint.hostname,
          port: this.endpoint.port || undefined,
          path: signed.path,
          headers: signed.headers,
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (response: IncomingMessage) => {
          // The body is small (empty, or an error's JSON); draining it frees the socket for the next push.
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode ?? 0, errorType: errorTypeOf(response) }));
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer from @connections within ${this.timeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}

/** API Gateway names the error in `x-amzn-ErrorType` (`GoneException`, `LimitExceededException:http://…`). */
const errorTypeOf = (response: IncomingMessage): string => String(response.headers['x-amzn-errortype'] ?? '').split(':')[0] ?? '';

/** Throttling (429) and server errors are worth another try; a refusal (403, 413 …) will fail the same way again. */
const failure = (operation: string, status: number, errorType: string): PushFailedError =>
  new PushFailedError(`${operation} answered ${status} ${errorType || 'without an error type'}`, status === 429 || status >= 500);
