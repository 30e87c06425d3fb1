/**
 * Wire helpers shared by the emulated AWS services: reading a body, the
 * SigV4 service name that picks the service, and AWS's error shapes so the
 * real SDK raises the right exception classes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The whole body, or a 413 `AwsError` past `limit` (refused up front when Content-Length already says so). */
export async function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const tooLarge = () => new AwsError(413, 'PayloadTooLargeException', 'Request body too large');
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Headers as API Gateway hands them to a handler: lower-cased names, repeated values joined by commas. */
export function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  return headers;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/ssm/aws4_request, …` → `ssm`. */
export function signingService(req: IncomingMessage): string | undefined {
  const match = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** An emulated service: answers one request whose body has been read. */
export type AwsService = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

/** An error the service answers in AWS's shape for its protocol. */
export class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** awsJson1_1 (SSM) and awsJson1_0 (DynamoDB): `__type` in the body and `x-amzn-ErrorType`. */
export function sendJsonProtocolError(res: ServerResponse, error: AwsError): void {
  send(res, error.status, { __type: error.type, message: error.message }, { 'x-amzn-errortype': error.type, 'content-type': 'application/x-amz-json-1.1' });
}

/** restJson1 (Scheduler, API Gateway management): `x-amzn-ErrorType` header and `Message` in the body. */
export function sendRestJsonError(res: ServerResponse, error: AwsError): void {
  send(res, error.status, { Message: error.message, message: error.message }, { 'x-amzn-errortype': error.type, 'content-type': 'application/json' });
}

/**
 * Lambda's restJson1 errors: `x-amzn-ErrorType` and `{"Type","message"}`, `Type` being `User` for the
 * caller's errors and `Service` for Lambda's own (as SAM's local Lambda service answers, aws/aws-sam-cli
 * samcli/local/lambda_service/lambda_error_responses.py). Lambda's model names the member `Message` on some
 * exceptions (ResourceNotFoundException) and `message` on others, so both are sent.
 */
export function sendLambdaError(res: ServerResponse, error: AwsError): void {
  send(
    res,
    error.status,
    { Type: error.status >= 500 ? 'Service' : 'User', Message: error.message, message: error.message },
    { 'x-amzn-errortype': error.type, 'content-type': 'application/json' },
  );
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }): void {
  sendText(res, status, body === undefined ? '' : JSON.stringify(body), headers);
}

/** A body already serialized (XML, or JSON written by its protocol's rules), under the request id it may carry too. */
export function sendText(res: ServerResponse, status: number, payload: string, headers: Record<string, string>, requestId: string = crypto.randomUUID()): void {
  res.writeHead(status, { 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
