// `cms-events simulate`: simulated CMS servers with live traffic, for trying a real integration.
// stdout gets one line per server (URL, credentials, CA file) and the control API's URL; logs go to stderr.
import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../hub/logger.js';
import { CONTROL_API_ROUTES, startCluster, startControlApi } from '../simulator/index.js';
import { runUntilSignal } from './lifecycle.js';

interface SimulateOptions {
  servers: number;
  port: number;
  user: string;
  password: string;
  rate: number;
  meetings: number;
  tls: boolean;
  controlPort: number;
  host: string;
}

const integer = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
  return n;
};

const rate = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
};

export function simulateCommand(): Command {
  return new Command('simulate')
    .description('serve simulated Cisco Meeting Servers (token API + Events WebSocket) playing live meetings')
    .option('--servers <n>', 'number of simulated servers, on ports P..P+N-1', integer(1, 10_000), 1)
    .option('--port <p>', 'port of the first server (0: any free ports)', integer(0, 65_535), 9443)
    .option('--user <u>', 'API user name', 'admin')
    .option('--password <w>', 'API password', 'admin')
    .option('--rate <r>', 'approximate messages per second per server (0: a quiet world)', rate, 5)
    .option('--meetings <n>', 'meetings spread over the first two servers, which form a CMS cluster (0: none; needs --servers 2 or more)', integer(0, 100), 1)
    .option('--no-tls', 'plain HTTP and WebSocket instead of TLS with a self-signed certificate')
    .option('--control-port <c>', 'port of the JSON control API (0: any free port)', integer(0, 65_535), 0)
    .option('--host <h>', 'address to listen on', '127.0.0.1')
    .addHelpText('after', `\nControl API routes ({server} is a name or port; * where noted means all):\n  ${CONTROL_API_ROUTES.join('\n  ')}\n`)
    .action(async (options: SimulateOptions) => {
      if (options.port !== 0 && options.port + options.servers - 1 > 65_535) {
        throw new InvalidArgumentError(`--port ${options.port} with --servers ${options.servers} runs past port 65535`);
      }
      const logger = createLogger();
      const cluster = await startCluster({
        servers: options.servers,
        basePort: options.port,
        host: options.host,
        username: options.user,
        password: options.password,
        tls: options.tls,
        rate: options.rate,
        meetings: options.meetings,
      });
      const bridgeCluster = cluster.bridgeCluster;
      const control = await startControlApi(cluster.servers, { host: options.host, port: options.controlPort, ...(bridgeCluster ? { cluster: bridgeCluster } : {}) });
      runUntilSignal(logger, async () => {
        await control.close();
        await cluster.stop();
      });
      const lines = cluster.servers.map((s) =>
        [s.name, s.url, `user=${s.username}`, `password=${s.password}`, ...(s.tls ? [`ca=${s.caPath}`, `sha256=${s.fingerprint}`] : [])].join(' '),
      );
      lines.push(`control ${control.url}`);
      process.stdout.write(`${lines.join('\n')}\n`);
      logger.info(
        { servers: cluster.servers.length, rate: options.rate, control: control.url, ...(bridgeCluster ? { cluster: bridgeCluster.bridges.map((s) => s.name), meetings: options.meetings } : {}) },
        'simulator running; SIGINT or SIGTERM to stop',
      );
    });
}
