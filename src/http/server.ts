// The admin HTTP API of the contract: health, readiness, metrics, servers and calls, the SSE
// event stream and the dashboard, plus the control routes (control-routes.ts) when a control
// token is configured. node:http is enough for a handful of routes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hub, ServerView } from '../hub/index.js';
import { handleControl } from './control-routes.js';
import { openApiDocument } from './openapi.js';
import { PACKAGE_VERSION } from '../package-version.js';
import { serveEvents } from './sse.js';
import { createStaticHandler } from './static.js';

export interface HttpServerOptions {
  host?: string;
  port?: number;
  /** Turns the control routes on (control-routes.ts); absent: they answer 403. */
  controlToken?: string;
}

export interface RunningHttpServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { 'cache-control': 'no-store' });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/** The contract's server entry: lastError in words, its kind, precise code and time beside it. */
function serverEntry(view: ServerView) {
  const { lastError, ...rest } = view;
  return {
    ...rest,
    lastError: lastError?.message ?? null,
    lastErrorKind: lastError?.kind ?? null,
    lastErrorCode: lastError?.code ?? null,
    lastErrorAt: lastError?.at ?? null,
  };
}

export function createRequestHandler(hub: Hub, controlToken?: string) {
  const serveStatic = createStaticHandler();
  /** Built on first request: the same for the life of the process. */
  let openApi: Record<string, unknown> | undefined;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (await handleControl(hub, req, res, path, controlToken, sendJson)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'only GET is supported' });
      return;
    }
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const servers = hub.servers().map((s) => ({ name: s.name, state: s.state }));
      return sendJson(res, hub.ready() ? 200 : 503, { ready: hub.ready(), servers });
    }
    if (path === '/metrics') {
      const text = await hub.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': hub.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (path === '/api/servers') return sendJson(res, 200, hub.servers().map(serverEntry));
    if (path === '/api/sinks') return sendJson(res, 200, hub.sinkStatuses());
    // Whether the control routes are on (the dashboard shows its buttons then); never the token.
    if (path === '/api/control') return sendJson(res, 200, { enabled: controlToken !== undefined });
    if (path === '/api/events') return serveEvents(hub, req, res, url.searchParams.get('server'));
    if (path === '/api/openapi.json') return sendJson(res, 200, (openApi ??= openApiDocument(PACKAGE_VERSION)));
    if (path === '/api/meetings') return sendJson(res, 200, hub.meetings());
    const meetingMatch = /^\/api\/meetings\/([^/]+)$/.exec(path);
    if (meetingMatch) {
      const id = decodeURIComponent(meetingMatch[1]!);
      const meeting = hub.meeting(id);
      return meeting ? sendJson(res, 200, meeting) : sendJson(res, 404, { error: `no meeting "${id}"` });
    }
    const callsMatch = /^\/api\/servers\/([^/]+)\/calls$/.exec(path);
    if (callsMatch) {
      const name = decodeURIComponent(callsMatch[1]!);
      const calls = hub.calls(name);
      if (!calls) return sendJson(res, 404, { error: `no server named "${name}"` });
      return sendJson(res, 200, calls);
    }
    if (serveStatic(req, res)) return;
    sendJson(res, 404, { error: `no route for ${path}` });
  };
}

export async function startHttpServer(hub: Hub, options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const handle = createRequestHandler(hub, options.controlToken);
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      // A path segment that is not valid percent-encoding (decodeURIComponent): the request's fault.
      if (error instanceof URIError && !res.headersSent) return sendJson(res, 400, { error: 'the path is not valid percent-encoding' });
      hub.logger.error({ err: error, path: req.url }, 'HTTP request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    server,
    port,
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
