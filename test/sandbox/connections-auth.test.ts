/**
 * `@connections` checks SigV4 and the signer's grants, as API Gateway does:
 * so the functions' own signed push client (SignedConnectionsPusher) is
 * proven against a gateway that refuses a bad signature, and a function the
 * manifest does not let push is refused as IAM would refuse it. The gateway
 * runs alone here; its `$connect` authorizer and route are stand-ins that
 * let every mechanic in.
 */
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignedConnectionsPusher } from '../../lambdas/adapters/signed-connections-pusher';
import { PushFailedError } from '../../lambdas/ports';
import { SandboxPrincipals } from '../../sandbox/iam';
import { startWebSocketGateway, type WebSocketGateway } from '../../sandbox/websocket-gateway';
import { eventually, signedConnectionsCall } from '../e2e/clients';
import { requireSentAt } from '../support/server-messages';

let gateway: WebSocketGateway;
const principals = new SandboxPrincipals();
const connected: string[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  gateway = await startWebSocketGateway({
    port: 0,
    stage: 'test',
    log: () => undefined,
    principals,
    invoke: async (_fn, event) => {
      const { requestContext } = event as { requestContext: { routeKey: string; connectionId: string } };
      if (requestContext.routeKey === '$connect') connected.push(requestContext.connectionId);
      return { principalId: 'mech-1', policyDocument: { Statement: [{ Effect: 'Allow' }] }, context: {}, statusCode: 200 };
    },
  });
});

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await gateway.close();
});

/** A mechanic's live socket: its connection id and the messages it received. */
async function mechanic(): Promise<{ connectionId: string; received: string[] }> {
  const socket = new WebSocket(`${gateway.url}?token=anything`);
  sockets.push(socket);
  const received: string[] = [];
  socket.on('message', (data) => received.push(data.toString()));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return { connectionId: connected.at(-1)!, received };
}

const url = (connectionId: string): string => `${gateway.connectionsEndpoint}/@connections/${encodeURIComponent(connectionId)}`;
const roleOf = (name: 'fanOut' | 'wsAuthorizer') => {
  const env = principals.roleCredentials()[name];
  return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN };
};

describe('@connections signatures', () => {
  it("refuses an unsigned call, a wrong secret, an unknown key, a role's key without its token and a body changed after signing, with API Gateway's 403s; nothing is delivered", async () => {
    // Arrange
    const { connectionId, received } = await mechanic();
    const target = url(connectionId);

    // Act
    const answers = {
      unsigned: await fetch(target, { method: 'POST', body: '{"n":1}' }),
      wrongSecret: await signedConnectionsCall(target, {
        method: 'POST',
        body: '{"n":2}',
        credentials: { accessKeyId: 'test', secretAccessKey: 'not-the-secret' },
      }),
      unknownKey: await signedConnectionsCall(target, { method: 'POST', body: '{"n":3}', credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' } }),
      roleWithoutToken: await signedConnectionsCall(target, { method: 'POST', body: '{"n":4}', credentials: { ...roleOf('fanOut'), sessionToken: undefined } }),
      bodyChanged: await signedConnectionsCall(target, { method: 'POST', body: '{"n":5}', sentBody: '{"n":6}' }),
    };
    const proof = await signedConnectionsCall(target, { method: 'POST', body: '{"n":7}' });

    // Assert
    const seen = Object.fromEntries(
      Object.entries(answers).map(([name, answer]) => [name, { status: answer.status, type: answer.headers.get('x-amzn-errortype') }]),
    );
    expect(seen).toEqual({
      unsigned: { status: 403, type: 'MissingAuthenticationTokenException' },
      wrongSecret: { status: 403, type: 'InvalidSignatureException' },
      unknownKey: { status: 403, type: 'UnrecognizedClientException' },
      roleWithoutToken: { status: 403, type: 'UnrecognizedClientException' },
      bodyChanged: { status: 403, type: 'InvalidSignatureException' },
    });
    expect(((await answers.wrongSecret.json()) as { message: string }).message).toMatch(/^The request signature we calculated does not match/);
    expect(proof.status).toBe(200);
    await eventually(() => received.length > 0, 'the signed message to arrive');
    expect(received).toEqual(['{"n":7}']);
  });

  it('refuses a function whose manifest does not grant execute-api:ManageConnections (AccessDenied names its role), and lets a function that pushes through', async () => {
    // Arrange
    const { connectionId, received } = await mechanic();

    // Act
    const authorizer = await signedConnectionsCall(url(connectionId), { method: 'POST', body: '{"from":"authorizer"}', credentials: roleOf('wsAuthorizer') });
    const fanOut = await signedConnectionsCall(url(connectionId), { method: 'POST', body: '{"from":"fan-out"}', credentials: roleOf('fanOut') });

    // Assert
    expect(authorizer.status).toBe(403);
    expect(authorizer.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    expect(((await authorizer.json()) as { message: string }).message).toMatch(
      /^User: arn:aws:sts::000000000000:assumed-role\/wsAuthorizer-role\/wsAuthorizer is not authorized to perform: execute-api:ManageConnections on resource: /,
    );
    expect(fanOut.status).toBe(200);
    await eventually(() => received.length > 0, "the fan-out's message to arrive");
    expect(received).toEqual(['{"from":"fan-out"}']);
  });
});

describe('SignedConnectionsPusher against it', () => {
  const pusher = (secretAccessKey = 'test') =>
    new SignedConnectionsPusher(gateway.connectionsEndpoint, {
      region: 'us-east-1',
      credentials: async () => ({ accessKeyId: 'test', secretAccessKey }),
      maxSockets: 4,
    });

  it("sends, answers 'gone' for a connection nobody has, and disconnects", async () => {
    // Arrange
    const { connectionId, received } = await mechanic();
    const client = pusher();

    // Act
    const sent = await client.send(connectionId, { type: 'error', code: 'hello', message: 'from the lean client' });
    const gone = await client.send('nobody-has-this=', { type: 'error', code: 'hello', message: 'to no one' });
    await client.disconnect(connectionId);
    const afterDisconnect = await client.send(connectionId, { type: 'error', code: 'late', message: 'too late' });
    client.close();

    // Assert
    expect({ sent, gone, afterDisconnect }).toEqual({ sent: 'sent', gone: 'gone', afterDisconnect: 'gone' });
    await eventually(() => received.length > 0, 'the message to arrive');
    expect(requireSentAt(received[0]!)).toEqual({ type: 'error', code: 'hello', message: 'from the lean client' });
  });

  it('signed with the wrong secret, it throws a PushFailedError that is not worth retrying, and nothing arrives', async () => {
    // Arrange
    const { connectionId, received } = await mechanic();
    const client = pusher('wrong');

    // Act
    const error = await client.send(connectionId, { type: 'error', code: 'x', message: 'y' }).catch((e: unknown) => e);
    client.close();

    // Assert
    expect(error).toBeInstanceOf(PushFailedError);
    expect(error).toMatchObject({ retryable: false, message: 'PostToConnection answered 403 InvalidSignatureException' });
    expect(received).toEqual([]);
  });
});
