/**
 * One WebSocket to the API, kept alive the way README "WebSocket API
 * (mechanics)" asks of every client: `ping` every 5 minutes (API Gateway
 * closes a connection idle for 10), reconnect when closed with backoff and
 * jitter (1 s doubling to 30 s), and `sync` after every (re)connect, since a
 * message sent while away is not pushed again.
 */
import type { ServerMessage } from '../lambdas/domain/messages';
import { ServerClock } from './clock';

const PING_EVERY_MS = 5 * 60_000;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export type SocketState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface LiveSocketOptions {
  /** The full URL, a single-use ticket included: asked again before each (re)connect. */
  url: () => Promise<string>;
  onMessage: (message: ServerMessage) => void;
  onState: (state: SocketState, detail?: string) => void;
}

export class LiveSocket {
  readonly clock = new ServerClock();
  private socket: WebSocket | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private retryMs = FIRST_RETRY_MS;
  private stopped = false;

  constructor(private readonly options: LiveSocketOptions) {
    void this.open();
  }

  send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.pinger);
    this.socket?.close();
    this.options.onState('closed');
  }

  private async open(): Promise<void> {
    this.options.onState(this.retryMs === FIRST_RETRY_MS ? 'connecting' : 'reconnecting');
    let url: string;
    try {
      url = await this.options.url();
    } catch (error) {
      return this.scheduleRetry((error as Error).message);
    }
    if (this.stopped) return;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = FIRST_RETRY_MS;
      this.options.onState('connected');
      this.send({ action: 'sync' });
      this.pinger = setInterval(() => this.send({ action: 'ping' }), PING_EVERY_MS);
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as ServerMessage & { sent_at?: string };
      this.clock.observe(message.sent_at, Date.now());
      this.options.onMessage(message);
    };
    // A refused handshake (bad token, unapproved mechanic) also ends here: the browser does not expose its status.
    socket.onclose = () => {
      clearInterval(this.pinger);
      if (!this.stopped) this.scheduleRetry('connection closed');
    };
  }

  private scheduleRetry(why: string): void {
    const delay = this.retryMs / 2 + Math.random() * (this.retryMs / 2);
    this.options.onState('reconnecting', `${why}; retrying in ${Math.ceil(delay / 1000)} s`);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retry = setTimeout(() => void this.open(), delay);
  }
}
