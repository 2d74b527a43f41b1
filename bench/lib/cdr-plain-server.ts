// The raw baseline of the cdr benchmark, in a process of its own: a plain node:http server
// (keep-alive, as the daemon's receiver) that reads each POST body to its end and answers 200,
// storing and parsing nothing. What any HTTP receiver costs on this machine, with no disk.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveCommands } from './commands.js';

let posts = 0;
let bytes = 0;

const server = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    posts++;
    res.writeHead(200, { 'content-length': '0' }).end();
  });
});
// As the daemon's receiver: a CMS keeps its connection between POSTs.
server.keepAliveTimeout = 65_000;

serveCommands({
  async start(): Promise<{ port: number }> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port };
  },

  stats(): { posts: number; bytes: number } {
    return { posts, bytes };
  },

  stop(): void {
    server.closeAllConnections();
    server.close();
    setImmediate(() => process.exit(0));
  },
});
