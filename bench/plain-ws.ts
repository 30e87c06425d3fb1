/**
 * The floors' server, in its own process (so its sockets count against its
 * own file limit, not the sandbox's): a plain `ws` server with nothing behind
 * it, reached by the same fleet processes as the sandbox. A POST's body goes
 * out as one WebSocket frame:
 *   POST /broadcast       to every connected socket (`for … socket.send`, the plain ws broadcast);
 *   POST /send/<label>    to the socket that connected with `?token=<label>`.
 * It answers 204 once the frames are handed to the sockets. Prints
 * "listening <port>"; exits when its stdin closes (its parent is gone).
 * `node --import tsx bench/plain-ws.ts`, started by bench/crowd.ts.
 */
import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

const everyone = new Set<WebSocket>();
const byLabel = new Map<string, WebSocket>();

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const frame = Buffer.concat(chunks).toString();
    if (request.url === '/broadcast') {
      for (const socket of everyone) socket.send(frame);
    } else if (request.url?.startsWith('/send/')) {
      byLabel.get(decodeURIComponent(request.url.slice('/send/'.length)))?.send(frame);
    } else {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(204).end();
  });
});
// No per-message deflate: API Gateway does not compress frames either.
new WebSocketServer({ server, perMessageDeflate: false }).on('connection', (socket, request) => {
  const label = new URL(request.url ?? '/', 'http://plain').searchParams.get('token');
  everyone.add(socket);
  if (label) byLabel.set(label, socket);
  socket.on('close', () => {
    everyone.delete(socket);
    if (label) byLabel.delete(label);
  });
});
// Many sockets connect at once when the fleet joins.
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
