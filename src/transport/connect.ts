// One TLS configuration per server, and the one function that opens a socket with it. Both the
// token request and the WebSocket get their socket from openSocket(), so the CA, the pin and the
// insecure switch can never apply to one and not the other.
//
// The fingerprint pin is checked after the TLS handshake and before the socket is handed over
// (so before a password or token is written to it). checkServerIdentity cannot carry the pin:
// Node calls it only when the chain verified, and a pinned server is usually self-signed.
import net from 'node:net';
import tls from 'node:tls';
import type { TlsOptions } from './types.js';
import { TRANSPORT } from '../defaults.js';
import { TransportError, classifyError } from './errors.js';

/** Idle time before the kernel starts probing a silent connection (src/defaults.ts). */
export const TCP_KEEPALIVE_DELAY_MS = TRANSPORT.tcpKeepaliveDelayMs;

export interface TlsConfig {
  /** false for plain targets (simulator --no-tls and tests): http/ws, no TLS at all. */
  readonly secure: boolean;
  /** No certificate verification; the session warns at every connect. */
  readonly insecure: boolean;
  /** SHA-256 of the expected server certificate: 64 upper-case hex digits, no colons. */
  readonly pin: string | undefined;
  /** Options handed to tls.connect (host and port are added per connection). */
  readonly options: Readonly<tls.ConnectionOptions>;
}

const ignore = (): void => {};

const normaliseFingerprint = (value: string): string => value.replace(/[:\s]/g, '').toUpperCase();

/**
 * Builds the TLS configuration of one server. Throws a TypeError for a fingerprint that is not a
 * SHA-256 (a configuration mistake, not a connection failure).
 *
 * - `ca`: verify the chain against this bundle instead of the system store.
 * - `fingerprint`: the pin is the trust anchor: the chain is checked only when `ca` is given too.
 * - `insecure`: no verification at all.
 */
export function createTlsConfig(target: { plain?: boolean; tls?: TlsOptions }): TlsConfig {
  if (target.plain) return { secure: false, insecure: false, pin: undefined, options: {} };
  const settings = target.tls ?? {};
  const pin = settings.fingerprint === undefined ? undefined : normaliseFingerprint(settings.fingerprint);
  if (pin !== undefined && !/^[0-9A-F]{64}$/.test(pin)) {
    throw new TypeError('tls.fingerprint must be a SHA-256 fingerprint: 64 hex digits, colons allowed');
  }
  const insecure = settings.insecure === true;
  const options: tls.ConnectionOptions = {
    rejectUnauthorized: !insecure && (pin === undefined || settings.ca !== undefined),
  };
  // One SecureContext per server, built once: passing `ca` to every tls.connect would parse
  // the CA and build a context per connection (measured: ~17 % of a 1,000-server start, and
  // about 18 KB of memory per connection).
  if (settings.ca !== undefined && !insecure) options.secureContext = tls.createSecureContext({ ca: settings.ca });
  return { secure: true, insecure, pin, options };
}

export interface SocketRequest {
  host: string;
  port: number;
  /** Names the step and peer in error messages, e.g. "token request to cms-a:445". */
  where: string;
  /** Redacted from foreign error messages. */
  secrets: readonly string[];
  signal?: AbortSignal;
}

/**
 * Opens a TCP (or TLS) connection, verified and with TCP keepalive on. Resolves only once the
 * socket is usable; on abort destroys it and rejects with the signal's reason.
 */
export function openSocket(config: TlsConfig, request: SocketRequest): Promise<net.Socket> {
  const { host, port, where, secrets, signal } = request;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const socket: net.Socket = config.secure
      ? tls.connect({ ...config.options, host, port, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port });
    socket.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS);

    const settle = (error?: unknown): void => {
      socket.off(config.secure ? 'secureConnect' : 'connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      // http attaches its listeners a tick after it gets the socket; an error in that gap must
      // not become an uncaught exception (http and ws still see the socket close).
      socket.on('error', ignore);
      if (error === undefined) {
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => settle(classifyError(error, where, secrets));
    const onAbort = (): void => settle(signal?.reason);
    const onConnect = (): void => settle(config.pin === undefined ? undefined : checkPin(socket as tls.TLSSocket, config.pin, where));

    socket.once(config.secure ? 'secureConnect' : 'connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function checkPin(socket: tls.TLSSocket, pin: string, where: string): TransportError | undefined {
  const seen = socket.getPeerCertificate().fingerprint256;
  if (seen && normaliseFingerprint(seen) === pin) return undefined;
  return new TransportError(
    'tls',
    'TLS_FINGERPRINT',
    `${where}: the server's certificate does not match the pinned tls.fingerprint (it presented SHA-256 ${seen ?? 'nothing'})`,
  );
}

/**
 * The `createConnection` option of node:http / ws: the request waits for openSocket() (the async
 * callback form that http.request supports when no agent is given).
 */
export function connectionFactory(config: TlsConfig, request: SocketRequest) {
  return (_options: unknown, ready: (error: Error | null, socket?: net.Socket) => void): undefined => {
    openSocket(config, request).then(
      (socket) => ready(null, socket),
      (error: Error) => ready(error),
    );
    return undefined;
  };
}
