// A fleet of mechanic WebSocket clients in its own process (one process may open at most 20,000 files).
// Input on stdin, one JSON object per line (a last one may end without a newline when stdin closes):
//   first {"url": "ws://…/local", "tokens": ["…", …], "track"?: true}: connects one socket per token, prints
//   "connected <n>", then "received <n>" (messages so far, all sockets) every 20 ms. The intake bench sends only
//   this; with `track`, every message is also parsed and kept by type and request, for the commands below.
// Then, one at a time, commands (bench/accept-storm.ts):
//   {"wait": "<type>", "request_id": "…", "count": n}  prints "have <type> <request_id>" once n sockets (default
//                                                      all) have received a message of that type for the request;
//   {"accept": "<request_id>"}                         every socket sends `accept` for it at once; prints
//                                                      "accepted {ms, ok, reasons}" once each has its `accept_result`
//                                                      (ms: from the first send to the last answer; ok: the indexes
//                                                      of the sockets answered ok; reasons: the others', counted);
//   {"echoConnect": "ws://…"}                          one more socket per token to a plain echo server; "echo-connected <n>";
//   {"echo": "<payload>"}                              every echo socket sends the payload at once; prints
//                                                      "echoed {ms}" once each has it back (the floor of a storm).
// Commands of the bench runner (bench/crowd.ts), which may be sent first instead of the url one:
//   {"join": "ws://…", "tokens": ["…" | null, …]}       one more socket per token (null: the bare url, for a plain
//                                                      server), timing what each hears; prints "joined {from, to}",
//                                                      the range of indexes the new sockets got;
//   {"timed": "<type>", "request_id": "…", "count": n}  once n joined sockets have received a message of that type for
//                                                      the request, prints "timed {n, first, last, sample}": the first
//                                                      and last arrival (epoch ms, performance.timeOrigin + now(),
//                                                      so another process on this machine can subtract its own) and
//                                                      the first message's text; then forgets that message;
//   {"send": [index, …], "frame": "…"}                 those joined sockets each send the frame; prints "sent <n>".
import WebSocket from 'ws';

let connected = 0;
let received = 0;
let tracking = false;
const sockets = [];
const echoSockets = [];
const BATCH = 100;
/** `<type> <request_id>` → socket index → the message: what each socket heard, when tracking. */
const heard = new Map();
/** Checks run after each tracked message; a check returning true is done. */
let waiters = [];

async function connectAll(url, tokens, listen) {
  const opened = [];
  for (let i = 0; i < tokens.length; i += BATCH) {
    opened.push(
      ...(await Promise.all(
        tokens.slice(i, i + BATCH).map(
          (token, j) =>
            new Promise((resolve, reject) => {
              const socket = new WebSocket(token === null ? url : `${url}?token=${token}`);
              socket.once('open', () => resolve(socket));
              socket.once('error', reject);
              listen(socket, i + j);
            }),
        ),
      )),
    );
  }
  return opened;
}

const mechanicListener = (socket, index) =>
  socket.on('message', (data) => {
    received++;
    if (!tracking) return;
    const message = JSON.parse(data.toString());
    const key = `${message.type} ${message.request_id}`;
    if (!heard.has(key)) heard.set(key, new Map());
    const byIndex = heard.get(key);
    if (!byIndex.has(index)) byIndex.set(index, message);
    waiters = waiters.filter((check) => !check());
  });

/** Resolves with what the sockets heard of `type` for the request once `count` of them have. */
function heardBy(type, requestId, count) {
  return new Promise((resolve) => {
    const done = () => {
      const byIndex = heard.get(`${type} ${requestId}`);
      if ((byIndex?.size ?? 0) < count) return false;
      resolve(byIndex);
      return true;
    };
    if (!done()) waiters.push(done);
  });
}

async function acceptStorm(requestId) {
  const frame = JSON.stringify({ action: 'accept', request_id: requestId });
  const answered = heardBy('accept_result', requestId, sockets.length);
  const started = performance.now();
  for (const socket of sockets) socket.send(frame);
  const answers = await answered;
  const ms = performance.now() - started;
  const reasons = {};
  for (const message of answers.values()) if (message.ok !== true) reasons[message.reason] = (reasons[message.reason] ?? 0) + 1;
  return { ms, ok: [...answers].filter(([, message]) => message.ok === true).map(([index]) => index), reasons };
}

function echo(payload) {
  let back = 0;
  const done = new Promise((resolve) => {
    for (const socket of echoSockets)
      socket.once('message', () => {
        if (++back === echoSockets.length) resolve();
      });
  });
  const started = performance.now();
  for (const socket of echoSockets) socket.send(payload);
  return done.then(() => ({ ms: performance.now() - started }));
}

/** Sockets of `join`, and `<type> <request_id>` → index → when it first arrived there (epoch ms) + the first text. */
const joined = [];
const arrivals = new Map();
let arrivalWaiters = [];
const epochNow = () => performance.timeOrigin + performance.now();

const timedListener = (socket, index) =>
  socket.on('message', (data) => {
    const at = epochNow(); // before parsing: the parse is the receiver's work, not the delivery's
    const text = data.toString();
    const message = JSON.parse(text);
    const key = `${message.type} ${message.request_id}`;
    if (!arrivals.has(key)) arrivals.set(key, { sample: text, at: new Map() });
    const entry = arrivals.get(key);
    if (!entry.at.has(index)) entry.at.set(index, at); // at least once: a duplicate does not move the first arrival
    arrivalWaiters = arrivalWaiters.filter((check) => !check());
  });

async function join(url, tokenList) {
  const from = joined.length;
  joined.push(...(await connectAll(url, tokenList, (socket, index) => timedListener(socket, from + index))));
  return { from, to: joined.length };
}

function timed(type, requestId, count) {
  const key = `${type} ${requestId}`;
  return new Promise((resolve) => {
    const done = () => {
      const entry = arrivals.get(key);
      if ((entry?.at.size ?? 0) < count) return false;
      arrivals.delete(key); // timed once: keeps a long run's memory flat
      const times = [...entry.at.values()];
      resolve({ n: times.length, first: Math.min(...times), last: Math.max(...times), sample: entry.sample });
      return true;
    };
    if (!done()) arrivalWaiters.push(done);
  });
}

let tokens = [];
async function run(command) {
  if (command.url) {
    tokens = command.tokens;
    tracking = command.track === true;
    sockets.push(...(await connectAll(command.url, tokens, mechanicListener)));
    connected = sockets.length;
    console.log(`connected ${connected}`);
    setInterval(() => console.log(`received ${received}`), 20);
  } else if (command.wait) {
    await heardBy(command.wait, command.request_id, command.count ?? sockets.length);
    console.log(`have ${command.wait} ${command.request_id}`);
  } else if (command.accept) {
    console.log(`accepted ${JSON.stringify(await acceptStorm(command.accept))}`);
  } else if (command.echoConnect) {
    echoSockets.push(
      ...(await connectAll(
        command.echoConnect,
        tokens.map(() => null),
        () => undefined,
      )),
    );
    console.log(`echo-connected ${echoSockets.length}`);
  } else if (command.echo !== undefined) {
    console.log(`echoed ${JSON.stringify(await echo(command.echo))}`);
  } else if (command.join) {
    console.log(`joined ${JSON.stringify(await join(command.join, command.tokens))}`);
  } else if (command.timed) {
    console.log(`timed ${JSON.stringify(await timed(command.timed, command.request_id, command.count))}`);
  } else if (command.send) {
    for (const index of command.send) joined[index].send(command.frame);
    console.log(`sent ${command.send.length}`);
  }
}

// Commands run in order, each after the one before it finished.
let queue = Promise.resolve();
let buffer = '';
const enqueue = (line) => {
  if (line.trim()) queue = queue.then(() => run(JSON.parse(line)));
};
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  const lines = buffer.split('\n');
  buffer = lines.pop();
  for (const line of lines) enqueue(line);
});
process.stdin.on('end', () => enqueue(buffer));
process.on('SIGTERM', () => {
  for (const socket of [...sockets, ...echoSockets, ...joined]) socket.terminate();
  process.exit(0);
});
