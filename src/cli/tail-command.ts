import { Command, Option } from 'commander';
import { createHub, createLogger } from '../hub/index.js';
import { formatEvent } from './format-event.js';
import { runUntilSignal } from './lifecycle.js';
import { promptHidden } from './prompt.js';

interface TailOptions {
  host: string;
  port: string;
  user: string;
  passwordEnv: string;
  ca?: string;
  fingerprint?: string;
  insecure?: boolean;
  tls: boolean;
  json?: boolean;
  logLevel: string;
}

export function tailCommand(): Command {
  return new Command('tail')
    .description("show one server's events on the terminal")
    .requiredOption('--host <host>', 'CMS host name or address')
    .option('--port <port>', 'Web Admin port', '443')
    .requiredOption('--user <user>', 'API user name')
    .option('--password-env <var>', 'environment variable holding the password (else you are asked)', 'CMS_PASSWORD')
    .option('--ca <file>', 'PEM file of the CA that signs the server certificate')
    .option('--fingerprint <sha256>', 'pin the server certificate by its SHA-256 fingerprint')
    .option('--insecure', 'do not verify the server certificate (warned at every connect)')
    .addOption(new Option('--no-tls', 'plain HTTP/WS (the simulator with --no-tls only)'))
    .option('--json', 'NDJSON instead of readable lines')
    .option('--log-level <level>', 'log level on stderr', 'warn')
    .action(async (options: TailOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        process.stderr.write(`--port: "${options.port}" is not a port number\n`);
        process.exit(2);
      }
      let password = process.env[options.passwordEnv];
      if (!password) {
        try {
          password = await promptHidden(`password for ${options.user}@${options.host}: `);
        } catch (error) {
          process.stderr.write(`${(error as Error).message}\n`);
          process.exit(2);
        }
      }
      const logger = createLogger({ level: options.logLevel as 'warn' });
      const tls = {
        ...(options.fingerprint && { fingerprint: options.fingerprint }),
        ...(options.insecure && { insecure: true }),
      };
      let hub;
      try {
        hub = createHub({
          servers: [
            {
              name: options.host,
              host: options.host,
              port,
              username: options.user,
              password,
              ...(options.tls ? { tls: options.ca ? { ...tls, ca: options.ca } : tls } : { plain: true }),
            },
          ],
          sinks: [], // the readable lines below replace the NDJSON stdout sink
        }, { logger });
      } catch (error) {
        process.stderr.write(`${(error as Error).message}\n`);
        process.exit(2);
      }
      // `tail … | head` closes the pipe: that is the reader saying it has seen enough.
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') void hub.stop().then(() => process.exit(0));
      });
      hub.on('*', (event) => {
        process.stdout.write(`${options.json ? JSON.stringify(event) : formatEvent(event)}\n`);
      });
      runUntilSignal(logger, () => hub.stop());
      await hub.start();
    });
}
