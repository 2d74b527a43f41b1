// One open event WebSocket and everything about its health and its end, in one place: the
// listeners and their removal, the ping watchdog, the wording of a close, and a bounded close
// (close frame, then terminate() after a grace period, so a dead peer cannot hold teardown up).
// The session sees two callbacks, a frame and one failure, and never touches `ws` itself.
import WebSocket from 'ws';
import { realClock, type Clock } from '../clock.js';
import { TransportError, classifyError } from './errors.js';
import { PingWatchdog } from './ping-watchdog.js';
import { openWebSocket, type EventSocketRequest } from './websocket-handshake.js';

export interface EventSocketHandlers {
  /** Every frame, in order. */
  onFrame(data: WebSocket.RawData): void;
  /** Called at most once, when the socket fails or the server closes it; not after close(). */
  onFailure(error: TransportError): void;
}

export interface EventSocketOptions extends EventSocketRequest {
  /** WebSocket ping interval; 0 turns the watchdog off. */
  pingIntervalMs?: number;
  clock?: Clock;
}

/** Opens the event WebSocket; rejects with a TransportError as openWebSocket() does. */
export async function openEventSocket(options: EventSocketOptions): Promise<EventSocket> {
  return new EventSocket(await openWebSocket(options), options);
}

export class EventSocket {
  readonly #ws: WebSocket;
  readonly #where: string;
  readonly #secrets: readonly string[];
  readonly #pingIntervalMs: number;
  readonly #clock: Clock;
  #handlers: EventSocketHandlers | undefined;
  #watchdog: PingWatchdog | undefined;
  #closing: Promise<void> | undefined;

  constructor(ws: WebSocket, options: EventSocketOptions) {
    this.#ws = ws;
    this.#where = `${options.host}:${options.port}`;
    this.#secrets = [options.token, ...(options.secrets ?? [])];
    this.#pingIntervalMs = options.pingIntervalMs ?? 0;
    this.#clock = options.clock ?? realClock;
  }

  /** `ws:` or `wss:`. */
  get scheme(): string {
    return new URL(this.#ws.url).protocol;
  }

  get protocol(): string {
    return this.#ws.protocol;
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Starts delivering frames and failures, and the ping watchdog. */
  listen(handlers: EventSocketHandlers): void {
    this.#handlers = handlers;
    const ws = this.#ws;
    ws.on('message', handlers.onFrame);
    ws.on('error', (error) => this.#fail(classifyError(error, `event WebSocket to ${this.#where}`, this.#secrets)));
    ws.on('close', (code, reason) => this.#fail(closedError(code, reason.toString('utf8'), this.#where)));
    if (this.#pingIntervalMs <= 0) return;
    this.#watchdog = new PingWatchdog({
      intervalMs: this.#pingIntervalMs,
      clock: this.#clock,
      sendPing: () => ws.ping(),
      onDead: (unanswered) =>
        this.#fail(new TransportError('network', 'TIMEOUT', `${this.#where} stopped answering WebSocket pings (${unanswered} unanswered; it answered before)`)),
    });
    ws.on('pong', () => this.#watchdog?.pong());
    this.#watchdog.start();
  }

  send(text: string): void {
    this.#ws.send(text);
  }

  /**
   * Ends the socket: no callback runs after this. A close frame first, then terminate() after
   * `graceMs`; resolves once the socket is gone.
   */
  close(graceMs: number): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  /** Drops the socket at once, without a close frame. */
  terminate(): void {
    this.#detach();
    this.#ws.terminate();
  }

  #close(graceMs: number): Promise<void> {
    this.#detach();
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((resolve) => {
      const timer = this.#clock.setTimeout(() => ws.terminate(), graceMs);
      ws.once('close', () => {
        this.#clock.clearTimeout(timer);
        resolve();
      });
    });
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws.terminate();
    return closed;
  }

  #fail(error: TransportError): void {
    const handlers = this.#handlers;
    if (handlers === undefined) return;
    this.#detach();
    handlers.onFailure(error);
  }

  #detach(): void {
    this.#handlers = undefined;
    this.#watchdog?.stop();
    this.#watchdog = undefined;
    const ws = this.#ws;
    ws.removeAllListeners('message');
    ws.removeAllListeners('pong');
    ws.removeAllListeners('close');
    ws.removeAllListeners('error');
    // ws emits 'error' for a late failure of a socket nobody listens to any more; it must not crash.
    ws.on('error', ignore);
  }
}

const ignore = (): void => {};

/** The error for a WebSocket that closed, with the server's reason made printable and short. */
export function closedError(code: number, reason: string, where: string): TransportError {
  const said = reason.replace(/[\x00-\x1f]/g, ' ').trim().slice(0, 100);
  const detail = code === 1006 ? 'connection lost without a close frame, code 1006' : `code ${code}${said ? `: ${said}` : ''}`;
  return new TransportError('closed', 'CLOSED', `the event WebSocket to ${where} closed (${detail})`);
}
