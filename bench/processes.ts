/**
 * The bench's child processes (the mechanic fleet, the floors' plain server):
 * each starts through `sh` with its file-descriptor limit raised as far as the
 * machine allows, since a process holding 10,000 sockets needs more than the
 * usual soft limit of 1,024 and `node` cannot raise its own.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..');

/** Soft limit up to the hard one (Linux caps "unlimited" at fs.nr_open, 1,048,576 by default); a refusal keeps the soft one. */
const RAISE = 'h=$(ulimit -Hn); [ "$h" = unlimited ] && h=1048576; ulimit -n "$h" 2>/dev/null;';

/** The limit a child started by `spawnRaised` gets. */
export function childFdLimit(): number {
  const text = execFileSync('sh', ['-c', `${RAISE} ulimit -n`])
    .toString()
    .trim();
  return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
}

/** This process's own soft limit, where the OS says it (Linux); undefined elsewhere. */
export function ownFdLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === 'unlimited' ? Number.POSITIVE_INFINITY : soft ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

/** `node <args>` with the raised limit; `exec` keeps the pid, so killing the child kills node. */
export function spawnRaised(args: string[], options: { stdio?: 'pipe' | 'inherit'; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const child = spawn('sh', ['-c', `${RAISE} exec "$0" "$@"`, process.execPath, ...args], {
    cwd: ROOT,
    stdio: options.stdio === 'inherit' ? 'inherit' : ['pipe', 'pipe', 'inherit'],
    env: options.env ?? process.env,
  });
  // A bench that dies must not leave 10,000 sockets open behind it.
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  return child;
}

/**
 * A child answering one JSON command per line with one line per command, in
 * order, whose first word names the answer (bench/fleet.mjs, bench/plain-ws.ts).
 * Commands may be pipelined: answers resolve in the order the commands went.
 */
export class LineProcess {
  private readonly awaiting: { word: string; resolve: (rest: string) => void; reject: (error: Error) => void }[] = [];
  private exited: Error | undefined;

  constructor(
    readonly child: ChildProcess,
    private readonly name: string,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const space = line.indexOf(' ');
      const word = space < 0 ? line : line.slice(0, space);
      if (this.awaiting[0]?.word === word) this.awaiting.shift()!.resolve(space < 0 ? '' : line.slice(space + 1));
    });
    child.on('exit', (code, signal) => {
      this.exited = new Error(`${name} exited (${code ?? signal})`);
      for (const waiting of this.awaiting.splice(0)) waiting.reject(this.exited);
    });
  }

  /** Resolves with the rest of the answer line; rejects after `timeoutMs` (a bench never hangs on a lost message). */
  command(command: Record<string, unknown>, answer: string, timeoutMs = 180_000): Promise<string> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no "${answer}" within ${timeoutMs} ms for ${JSON.stringify(command).slice(0, 200)}`)),
        timeoutMs,
      );
      this.awaiting.push({
        word: answer,
        resolve: (rest) => {
          clearTimeout(timer);
          resolve(rest);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Waits for a line the child prints on its own (a server's "listening <port>"). */
  expect(answer: string, timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no "${answer}" within ${timeoutMs} ms`)), timeoutMs);
      this.awaiting.push({
        word: answer,
        resolve: (rest) => {
          clearTimeout(timer);
          resolve(rest);
        },
        reject,
      });
    });
  }

  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}
