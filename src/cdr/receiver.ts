// The CDR receiver (README.md, "Call detail records"): the HTTP(S) listener the CMSs POST their
// records to, one path per server, `/cdr/<server>?token=<token>`. A POST is answered 200 only
// once its body is on the disk itself (intake.ts); a wrong or missing token is 403 and an
// unknown server 404, and nothing is stored for either. A body too large is stored cut short
// (and set aside when processed) and answered 200 too: refused, a CMS would re-send it forever.
// While the intake is full, or the server is followed by another instance, the answer is 503:
// the CMS keeps the records and re-sends them later.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CDR } from '../defaults.js';
import { IntakeFullError } from './intake.js';

export interface CdrReceiverOptions {
  host: string;
  port: number;
  /** PEM contents: an HTTPS listener. */
  tls?: { cert: string; key: string };
  token: string;
  maxBodyBytes?: number;
  /** The server is configured (else 404). */
  knows: (server: string) => boolean;
  /** This process takes the server's records now (cluster mode: it owns the server; else 503). */
  accepts: (server: string) => boolean;
  /** Stores a body durably (intake.ts); resolves once it is on the disk. */
  store: (server: string, body: string, truncated: boolean) => Promise<void>;
  logger: Logger;
  /**
   * Fault injection for tests only: the 200 waits this long after the body is on disk (a kill in
   * that window is the case "stored, but the CMS never heard so").
   */
  answerDelayMs?: number;
  /** Every answer, for the metrics (`server` undefined before it is known). */
  onAnswer?: (server: string | undefined, status: number) => void;
}

export interface RunningCdrReceiver {
  server: Server;
  /** http(s)://host:port as bound. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The answer to nearly every POST, built once (a flat list of header names and values). */
const OK_HEADERS = ['content-length', '0'];

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The body, up to `limit` bytes; the rest is read and dropped (`truncated`). */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: string; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    req.on('data', (chunk: Buffer) => {
      if (truncated) return;
      if (size + chunk.length > limit) {
        chunks.push(chunk.subarray(0, limit - size));
        size = limit;
        truncated = true;
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks, size).toString('utf8'), truncated }));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('the CMS closed the connection before the body ended')));
  });
}

export async function startCdrReceiver(options: CdrReceiverOptions): Promise<RunningCdrReceiver> {
  const expected = digest(options.token);
  const limit = options.maxBodyBytes ?? CDR.maxBodyBytes;
  const { logger } = options;
  /** Per connection, the token it showed and was let in with. */
  const acceptedOn = new WeakMap<object, string>();

  const answer = (res: ServerResponse, server: string | undefined, status: number, text?: string, headers: Record<string, string> = {}): void => {
    options.onAnswer?.(server, status);
    if (status === 200) {
      res.writeHead(200, OK_HEADERS).end();
      return;
    }
    if (text === undefined) res.writeHead(status, { 'content-length': '0', ...headers }).end();
    else res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const match = /^\/cdr\/([^/]+)\/?$/.exec(url.pathname);
    if (match === null) {
      req.resume();
      return answer(res, undefined, 404, 'not found: records go to /cdr/<server>?token=<token>');
    }
    if (req.method !== 'POST') {
      req.resume();
      return answer(res, undefined, 405, 'only POST', { allow: 'POST' });
    }
    // The token first: who does not have it learns nothing, not even which servers exist. A CMS
    // keeps its connection: once it showed the token on it, the same text is not hashed again.
    const given = url.searchParams.get('token');
    if (given === null || (acceptedOn.get(req.socket) !== given && !timingSafeEqual(digest(given), expected))) {
      req.resume();
      return answer(res, undefined, 403, 'forbidden: wrong or missing token');
    }
    let server: string;
    try {
      server = decodeURIComponent(match[1]!);
    } catch {
      req.resume();
      return answer(res, undefined, 404, 'not found: bad percent-encoding in the server name');
    }
    acceptedOn.set(req.socket, given);
    if (!options.knows(server)) {
      req.resume();
      return answer(res, server, 404, `not found: no server named ${JSON.stringify(server)} is configured`);
    }
    if (!options.accepts(server)) {
      req.resume();
      return answer(res, server, 503, 'another instance follows this server now; its receiver takes the records', { 'retry-after': String(CDR.retryAfterSeconds) });
    }
    let read: { body: string; truncated: boolean };
    try {
      read = await readBody(req, limit);
    } catch (error) {
      logger.warn({ server, error: (error as Error).message }, 'a CDR POST broke off before its body ended; the CMS will send it again');
      return;
    }
    try {
      await options.store(server, read.body, read.truncated);
    } catch (error) {
      if (error instanceof IntakeFullError) return answer(res, server, 503, error.message, { 'retry-after': String(CDR.retryAfterSeconds) });
      logger.error({ server, error: (error as Error).message }, 'cannot store a CDR body on disk; the CMS is asked to send it again');
      return answer(res, server, 503, 'cannot store the records now', { 'retry-after': String(CDR.retryAfterSeconds) });
    }
    if (options.answerDelayMs) await new Promise((resolve) => setTimeout(resolve, options.answerDelayMs));
    answer(res, server, 200);
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ error: (error as Error).message }, 'the CDR receiver failed on a request');
      if (!res.headersSent) answer(res, undefined, 500, 'internal error');
    });
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
  server.requestTimeout = CDR.bodyTimeoutMs;
  // A CMS keeps its connection between POSTs; a little longer than common clients' idle timeouts.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    port,
    url: `${options.tls ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
