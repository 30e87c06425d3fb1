/**
 * Checks a request's SigV4 signature as an AWS endpoint does, by signing the
 * same canonical request again (AWS's own signer, `@smithy/signature-v4`)
 * with the secret of the access key it names and comparing. Answers in
 * API Gateway's words (403s): no signature → MissingAuthenticationToken, an
 * unknown key → UnrecognizedClientException, a wrong secret, a changed body or
 * a date more than 5 minutes off → InvalidSignatureException. So a client
 * that signs badly fails here as it would in AWS.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsError, lowerCaseHeaders } from './aws-wire';
import { Sha256 } from '../lambdas/adapters/sha256';

/** A principal the sandbox knows: whose key it is and its secret. */
export interface SigningIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (a role's) come with a token, sent as `x-amz-security-token`. */
  readonly sessionToken?: string;
  /** Who signs with it (an ARN), for AccessDenied messages. */
  readonly arn: string;
}

/** AWS allows the signing date to be this far from its own clock. */
const MAX_SKEW_MS = 5 * 60 * 1000;

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** The identity that signed `req` (for `service` in `region`), or the AwsError AWS would answer. */
export async function verifySignature<Identity extends SigningIdentity>(
  req: IncomingMessage,
  body: Buffer,
  expected: { service: string; region: string; identityOf: (accessKeyId: string) => Identity | undefined; now?: Date },
): Promise<Identity> {
  const headers = lowerCaseHeaders(req);
  const match = AUTHORIZATION.exec(headers.authorization ?? '');
  if (!match) throw new AwsError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  const [, accessKeyId, , region, service, signedHeaderList, signature] = match as unknown as string[];
  const identity = expected.identityOf(accessKeyId!);
  if (!identity || (identity.sessionToken ?? '') !== (headers['x-amz-security-token'] ?? ''))
    throw new AwsError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== expected.service || region !== expected.region)
    throw invalidSignature(`Credential should be scoped to a valid region and to the service '${expected.service}'.`);

  const amzDate = headers['x-amz-date'] ?? '';
  const signingDate = parseAmzDate(amzDate);
  const now = expected.now ?? new Date();
  if (!signingDate) throw invalidSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS)
    throw invalidSignature(`Signature expired: ${amzDate} is now earlier than ${formatAmzDate(new Date(now.getTime() - MAX_SKEW_MS))}`);

  const signed = signedHeaderList!.split(';');
  // A signed payload hash stands for the body in the signature below, so it must be the body's; without one the signer hashes the body itself.
  const claimedHash = headers['x-amz-content-sha256'];
  if (claimedHash !== undefined && claimedHash !== createHash('sha256').update(body).digest('hex')) throw invalidSignature(SIGNATURE_MISMATCH);

  const url = new URL(req.url ?? '/', 'http://localhost');
  const signer = signerFor(identity, service!, region!);
  const again = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'https:',
      hostname: (headers.host ?? '').split(':')[0]!,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(signed.filter((name) => name !== 'x-amz-date').map((name) => [name, headers[name] ?? ''])),
      body,
    },
    { signingDate, signableHeaders: new Set(signed) },
  );
  const recomputed = /Signature=([0-9a-f]{64})/.exec(String(again.headers.authorization))?.[1] ?? '';
  if (recomputed.length !== signature!.length || !timingSafeEqual(Buffer.from(recomputed), Buffer.from(signature!))) throw invalidSignature(SIGNATURE_MISMATCH);
  return identity;
}

/** One signer per key and scope: it keeps the derived signing key (four HMACs) for the day, as AWS's endpoints do. */
const signers = new Map<string, SignatureV4>();
function signerFor(identity: SigningIdentity, service: string, region: string): SignatureV4 {
  const key = `${identity.accessKeyId}/${region}/${service}`;
  let signer = signers.get(key);
  if (!signer) {
    signer = new SignatureV4({
      service,
      region,
      // The token, when there is one, is signed as a header like the rest.
      credentials: { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey },
      sha256: Sha256,
      applyChecksum: false,
    });
    signers.set(key, signer);
  }
  return signer;
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const invalidSignature = (message: string): AwsError => new AwsError(403, 'InvalidSignatureException', message);

/** `20261128T051500Z` → a Date. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

const formatAmzDate = (date: Date): string =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
