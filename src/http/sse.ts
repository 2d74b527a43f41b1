// Server-Sent Events for /api/events. A client that cannot keep up is disconnected (it will
// reconnect and reload) rather than buffered without bound.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SSE } from '../defaults.js';
import type { Hub } from '../hub/index.js';

export function serveEvents(hub: Hub, req: IncomingMessage, res: ServerResponse, serverFilter: string | null): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const untap = hub.tap((event, line) => {
    if (serverFilter !== null && event.server !== serverFilter) return;
    if (res.writableLength > SSE.maxBufferedBytes) {
      res.destroy();
      return;
    }
    res.write(`id: ${event.id}\ndata: ${line}\n\n`);
  });
  const ping = setInterval(() => res.write(': ping\n\n'), SSE.pingMs);
  const close = () => {
    clearInterval(ping);
    untap();
  };
  req.on('close', close);
  res.on('close', close);
}
