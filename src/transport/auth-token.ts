// POST /api/v1/authTokens with Basic auth; the token comes back in a header (docs/protocol.md §1).
// A fresh token is fetched for every connection attempt: the server may treat it as single-use.
import { request } from 'node:http';
import type { TlsConfig } from './connect.js';
import { connectionFactory } from './connect.js';
import { TRANSPORT } from '../defaults.js';
import { TransportError, classifyError, redact } from './errors.js';

export const AUTH_TOKEN_PATH = '/api/v1/authTokens';
export const AUTH_TOKEN_HEADER = 'x-cisco-cms-auth-token';


export interface AuthTokenRequest {
  tls: TlsConfig;
  host: string;
  port: number;
  username: string;
  password: string;
  signal?: AbortSignal;
}

/**
 * Fetches an auth token. Rejects with a TransportError: `auth` on 401, `handshake` on another
 * error status (named, with the server's failureDetails), `tls`/`network` when the connection
 * fails, `protocol` on a 2xx without a token. Settles only once its socket is closed.
 */
export function fetchAuthToken(params: AuthTokenRequest): Promise<string> {
  const { tls, host, port, username, password, signal } = params;
  const where = `token request to ${host}:${port}`;
  const secrets = [password];
  return new Promise((resolve, reject) => {
    let outcome: { token: string } | { error: TransportError } | undefined;
    const fail = (error: unknown): void => {
      outcome ??= { error: classifyError(error, where, secrets) };
    };

    // node:http does TLS too here: the socket comes from openSocket() either way.
    const req = request({
      host,
      port,
      method: 'POST',
      path: AUTH_TOKEN_PATH,
      headers: {
        authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
        'content-length': '0',
      },
      createConnection: connectionFactory(tls, { host, port, where, secrets, signal }) as never,
    });

    const onAbort = (): void => {
      fail(signal?.reason);
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    req.on('error', (error) => {
      fail(error);
      // Without a socket (the connection itself failed) http emits no 'close'.
      if (!req.socket) finish();
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        res.resume();
        const header = res.headers[AUTH_TOKEN_HEADER];
        const token = (Array.isArray(header) ? header[0] : header)?.trim();
        outcome ??= token
          ? { token }
          : { error: new TransportError('protocol', 'PROTOCOL', `${where}: HTTP ${status} without an X-Cisco-CMS-Auth-Token header`) };
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < TRANSPORT.maxErrorBodyBytes) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        outcome ??= { error: statusError(status, where, failureDetails(Buffer.concat(chunks).toString('utf8'), secrets), username) };
      });
    });
    // 'close' comes after the response and after the socket is gone: settling there leaves no handle behind.
    const finish = (): void => {
      signal?.removeEventListener('abort', onAbort);
      outcome ??= { error: new TransportError('network', 'NETWORK', `${where}: connection closed before a response`) };
      if ('token' in outcome) resolve(outcome.token);
      else reject(outcome.error);
    };
    req.on('close', finish);
    req.end();
  });
}

function statusError(status: number, where: string, details: string | undefined, username: string): TransportError {
  if (status === 401) {
    return new TransportError(
      'auth',
      'AUTH_REJECTED',
      `authentication failed for user '${username}' (HTTP 401): check username/password`,
      { status },
    );
  }
  const suffix = details ? `: ${details}` : '';
  return new TransportError('handshake', 'TOKEN_REFUSED', `${where} refused: HTTP ${status}${suffix}`, { status });
}

/** The text of a CMS `<failureDetails>` body in one line: element names and their attributes. */
export function failureDetails(body: string, secrets: readonly string[] = []): string | undefined {
  const match = /<failureDetails\b[^>]*>([\s\S]*?)<\/failureDetails>/i.exec(body);
  if (!match) return undefined;
  const text = match[1]
    .replace(/<\s*\/[^>]*>/g, ' ')
    .replace(/<\s*([^>]*?)\s*\/?\s*>/g, ' $1 ')
    .replace(/\s+/g, ' ')
    .trim();
  return text ? redact(text.slice(0, 200), secrets) : undefined;
}
