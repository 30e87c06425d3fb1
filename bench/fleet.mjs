// A fleet of mechanic WebSocket clients in its own process (one process may open at most 20,000 files).
// Input on stdin: {"url": "ws://…/local", "tokens": ["…", …]}. Prints "connected <n>", then "received <n>" every second.
import WebSocket from 'ws';

const input = JSON.parse(
  await new Promise((resolve) => {
    let text = '';
    process.stdin.on('data', (chunk) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
  }),
);
let connected = 0;
let received = 0;
const sockets = [];
const BATCH = 100;
for (let i = 0; i < input.tokens.length; i += BATCH) {
  await Promise.all(
    input.tokens.slice(i, i + BATCH).map(
      (token) =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(`${input.url}?token=${token}`);
          socket.once('open', () => {
            connected++;
            resolve();
          });
          socket.once('error', reject);
          socket.on('message', () => received++);
          sockets.push(socket);
        }),
    ),
  );
}
console.log(`connected ${connected}`);
setInterval(() => console.log(`received ${received}`), 20);
process.on('SIGTERM', () => {
  for (const socket of sockets) socket.terminate();
  process.exit(0);
});
