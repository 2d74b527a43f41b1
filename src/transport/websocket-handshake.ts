// The event WebSocket's handshake (docs/protocol.md §2): wss://HOST:PORT/events/v1?authToken=TOKEN,
// no subprotocol, no extra headers (permessage-deflate is not offered either), over a socket from
// openSocket() so that it shares the token request's TLS configuration. The open socket is
// handed to EventSocket (event-socket.ts), which owns the rest of its life.
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import type { TlsConfig } from './connect.js';
import { connectionFactory } from './connect.js';
import { TransportError, classifyError } from './errors.js';

export const EVENTS_PATH = '/events/v1';

export interface EventSocketRequest {
  tls: TlsConfig;
  host: string;
  port: number;
  token: string;
  /** Redacted from foreign error messages besides the token (the password). */
  secrets?: readonly string[];
  signal?: AbortSignal;
}

const UPGRADE_HINTS: Record<number, string> = {
  401: 'the token was rejected (expired, already used or unknown)',
  403: 'the token was rejected or the user may not use the events API',
  503: 'the server is unavailable or allows no more event connections',
};

/**
 * Resolves with an open WebSocket, or rejects with a TransportError (`handshake` when the upgrade
 * is refused, with the status; `tls`/`network` when the connection fails). On abort the socket
 * is terminated and the promise rejects with the signal's reason.
 */
export function openWebSocket(params: EventSocketRequest): Promise<WebSocket> {
  const { tls, host, port, token, signal } = params;
  const where = `event WebSocket to ${host}:${port}`;
  const secrets = [token, ...(params.secrets ?? [])];
  const scheme = tls.secure ? 'wss' : 'ws';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `${scheme}://${hostPart}:${port}${EVENTS_PATH}?authToken=${encodeURIComponent(token)}`;

  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let failure: TransportError | undefined;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      followRedirects: false,
      createConnection: connectionFactory(tls, { host, port, where, secrets, signal }) as never,
    });

    const cleanup = (): void => {
      ws.off('open', onOpen);
      ws.off('unexpected-response', onUnexpectedResponse);
      ws.off('error', onError);
      ws.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onOpen = (): void => {
      cleanup();
      resolve(ws);
    };
    const onUnexpectedResponse = (_req: unknown, res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      const hint = UPGRADE_HINTS[status];
      failure ??= new TransportError(
        'handshake',
        'UPGRADE_REFUSED',
        `${where}: upgrade refused with HTTP ${status}${hint ? ` (${hint})` : ''}`,
        { status },
      );
      res.resume();
      ws.terminate();
    };
    const onError = (error: Error): void => {
      failure ??= classifyError(error, where, secrets);
    };
    const onAbort = (): void => {
      failure ??= classifyError(signal?.reason, where, secrets);
      ws.terminate();
    };
    // ws emits 'close' last in every failure path: settling there means the socket is gone.
    const onClose = (): void => {
      cleanup();
      reject(failure ?? new TransportError('network', 'NETWORK', `${where}: closed during the handshake`));
    };

    ws.on('open', onOpen);
    ws.on('unexpected-response', onUnexpectedResponse);
    ws.on('error', onError);
    ws.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
