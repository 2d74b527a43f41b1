import { Command, InvalidArgumentError } from 'commander';
import { startHttpServer, type RunningHttpServer } from '../http/server.js';
import { ConfigError, createHub, createLogger, loadConfigFile, registerSecret, resolveSecret, type Hub } from '../hub/index.js';
import { FolderLockedError } from '../folder-lock.js';
import { ClusterOwnership, FleetFeed, natsOptions } from '../cluster/index.js';
import { loadHandlersModule } from './handlers-module.js';
import { runUntilSignal } from './lifecycle.js';

export function runCommand(): Command {
  return new Command('run')
    .description('follow every configured CMS server; events go to the sinks (stdout by default)')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (overrides the config)')
    // For instances sharing one config file (a compose file, a templated unit): each its own name and port.
    .option('--instance <name>', 'this instance\'s name in cluster mode (overrides cluster.instance)', instanceName)
    .option('--http-port <port>', 'port of the HTTP API (overrides http.port; without an http section: the API on 127.0.0.1)', httpPort)
    .action(async (options: { config: string; logLevel?: string; instance?: string; httpPort?: number }) => {
      let loaded;
      try {
        loaded = await loadConfigFile(options.config);
      } catch (error) {
        if (error instanceof ConfigError) {
          process.stderr.write(`invalid config:\n${error.message}\n`);
          process.exit(2);
        }
        throw error;
      }
      const { config, file, baseDir } = loaded;
      if (options.instance !== undefined) {
        if (!config.cluster) {
          process.stderr.write(`invalid config:\n${file}: --instance ${options.instance} needs a cluster section in the config\n`);
          process.exit(2);
        }
        config.cluster.instance = options.instance;
      }
      if (options.httpPort !== undefined) config.http = { host: '127.0.0.1', ...config.http, port: options.httpPort };
      const logger = createLogger({ level: (options.logLevel ?? config.log?.level ?? 'info') as 'info' });
      let ownership: ClusterOwnership | undefined;
      let fleet: FleetFeed | undefined;
      try {
        if (config.cluster) {
          ownership = new ClusterOwnership({ config: config.cluster, baseDir, origin: file, logger });
          fleet = new FleetFeed({ nats: natsOptions(config.cluster, baseDir, file, `${ownership.instance} view`), log: logger });
        }
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`invalid config:\n${error.message}\n`);
        process.exit(2);
      }
      const hub: Hub = createHub(config, { configFile: file, logger, ...(ownership && { ownership }), ...(fleet && { fleet }) });
      if (config.handlers) {
        try {
          await loadHandlersModule(hub, config.handlers, baseDir);
        } catch (error) {
          process.stderr.write(`invalid config:\n${file}: handlers: ${(error as Error).message}\n`);
          process.exit(2);
        }
      }
      let http: RunningHttpServer | undefined;
      runUntilSignal(
        logger,
        async () => {
          await http?.close();
          await hub.stop();
        },
        () => hub.reload(),
      );
      try {
        await hub.start();
      } catch (error) {
        // Another daemon owns a spool or state folder: a setup mistake, like an invalid config (exit 2).
        if (causedByFolderLock(error)) {
          process.stderr.write(`cms-events: ${(error as Error).message}\n`);
          process.exit(2);
        }
        // A part the config describes cannot be set up (a CDR token file, a certificate): exit 2 too.
        if (error instanceof ConfigError) {
          process.stderr.write(`invalid config:\n${error.message}\n`);
          process.exit(2);
        }
        throw error;
      }
      if (config.http) {
        let controlToken: string | undefined;
        try {
          const { controlToken: inline, controlTokenEnv: env, controlTokenFile: tokenFile } = config.http;
          controlToken = resolveSecret({ inline, env, file: tokenFile }, { inline: 'controlToken', env: 'controlTokenEnv', file: 'controlTokenFile' }, { baseDir, origin: file, field: 'http' });
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          process.stderr.write(`invalid config:\n${error.message}\n`);
          process.exit(2);
        }
        registerSecret(controlToken);
        http = await startHttpServer(hub, { host: config.http.host, port: config.http.port, controlToken });
        logger.info({ url: http.url, dashboard: `${http.url}/` }, 'HTTP API listening');
      }
    });
}

// The same rules as the config file's cluster.instance and http.port; a bad value exits 2.
function instanceName(value: string): string {
  if (!/^[-_a-zA-Z0-9]{1,64}$/.test(value)) throw new InvalidArgumentError('must be 1–64 letters, digits, "-" or "_"');
  return value;
}

function httpPort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port)');
  return port;
}

function causedByFolderLock(error: unknown): boolean {
  let e: unknown = error;
  while (e instanceof Error) {
    if (e instanceof FolderLockedError) return true;
    e = e.cause;
  }
  return false;
}
