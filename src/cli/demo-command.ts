import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { startHttpServer, type RunningHttpServer } from '../http/server.js';
import { createHub, createLogger, registerSecret } from '../hub/index.js';
import { startCluster, startControlApi } from '../simulator/index.js';
import { runUntilSignal } from './lifecycle.js';

interface DemoOptions {
  servers: string;
  rate: string;
  meetings: string;
  httpPort: string;
  logLevel: string;
}

/** Listens on the wanted port, or on any free one when it is taken (the demo must just work). */
async function startHttpAnywhere(hub: Parameters<typeof startHttpServer>[0], port: number, controlToken: string): Promise<RunningHttpServer> {
  try {
    return await startHttpServer(hub, { port, controlToken });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return startHttpServer(hub, { port: 0, controlToken });
  }
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('the simulator plays several CMS servers with live traffic and the daemon follows them')
    .option('--servers <n>', 'simulated servers', '3')
    .option('--rate <r>', 'messages per second per server', '4')
    .option('--meetings <n>', 'meetings spread over the first two servers, which form a CMS cluster (0: none)', '1')
    .option('--http-port <port>', 'HTTP API and dashboard port (a free one if taken)', '8080')
    .option('--log-level <level>', 'log level on stderr', 'info')
    .action(async (options: DemoOptions) => {
      const logger = createLogger({ level: options.logLevel as 'info' });
      // The CDR receiver stores records before it answers: the demo keeps them in a folder of its own, removed on exit.
      const stateDir = await mkdtemp(path.join(tmpdir(), 'cms-events-demo-'));
      const cluster = await startCluster({ servers: Number(options.servers), basePort: 0, rate: Number(options.rate), meetings: Number(options.meetings) });
      const control = await startControlApi(cluster.servers, { port: 0, ...(cluster.bridgeCluster ? { cluster: cluster.bridgeCluster } : {}) });
      const hub = createHub(
        {
          servers: cluster.servers.map((server, index) => ({
            name: `cms-${String.fromCharCode(97 + (index % 26))}${index >= 26 ? index : ''}`,
            host: server.host,
            port: server.port,
            username: server.username,
            password: server.password,
            ...(server.tls ? { tls: { ca: server.caPath! } } : { plain: true }),
          })),
          sinks: [{ type: 'stdout' }],
          stateDir,
          // Each simulated CMS is told to post its CDRs here, and its status and alarms are read every 10 s.
          // (Any free port: without publicUrl the listener's own address is registered.)
          cdr: { listen: { host: '127.0.0.1', port: 0 }, register: true },
          health: { intervalSeconds: 10 },
        },
        { logger },
      );
      let http: RunningHttpServer | undefined;
      runUntilSignal(logger, async () => {
        await http?.close();
        await hub.stop();
        await control.close();
        await cluster.stop();
        await rm(stateDir, { recursive: true, force: true });
      });
      await hub.start();
      // Call control is on in the demo, with a token made for this run and printed once.
      const controlToken = randomBytes(18).toString('base64url');
      registerSecret(controlToken);
      http = await startHttpAnywhere(hub, Number(options.httpPort), controlToken);
      // stdout carries events only; the addresses go to stderr.
      process.stderr.write(
        [
          '',
          `  dashboard:        ${http.url}/`,
          `  HTTP API:         ${http.url}/api/servers   (events: ${http.url}/api/events, metrics: ${http.url}/metrics)`,
          `  simulator control: ${control.url}`,
          `  CDR receiver:     ${hub.cdrListenUrl}/cdr/<server>   (registered on every simulated CMS; cdr.* events on stdout)`,
          `  call control:     Authorization: Bearer ${controlToken}   (e.g. CMS_EVENTS_CONTROL_TOKEN=${controlToken} bin/cms-events control --url ${http.url} …)`,
          '  events stream on stdout as NDJSON; Ctrl-C stops',
          '',
        ].join('\n') + '\n',
      );
    });
}
