// Builds the configured sinks. Relative paths are resolved against `baseDir` (the config
// file's folder); each spooled sink gets its own spool folder, `spool/<name>` by default.
// The network clients (undici, redis, nats) are loaded only when a sink needs them.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { assertNever } from '../assert-never.js';
import type { Clock } from '../clock.js';
import { sinkNames, sinksConfigSchema, type SinkConfig, type SinkConfigInput } from './config.js';
import { FileTransport } from './file.js';
import { Secrets, urlSecrets } from '../secrets.js';
import type { DeliveryTransport } from './delivery.js';
import { SpooledSink } from './spooled-sink.js';
import { StdoutSink } from './stdout.js';
import type { Sink } from './types.js';

export type { Sink, SinkState, SinkStatus } from './types.js';
export type { SpooledSinkStatus } from './spooled-sink.js';
export {
  sinkConfigSchema,
  sinksConfigSchema,
  sinkNames,
  type SinkConfig,
  type SinkConfigInput,
} from './config.js';
export { SINK_METRIC_NAMES } from './metrics.js';
export { redactUrl } from '../secrets.js';
export { FolderLockedError } from '../folder-lock.js';
export { SIGNATURE_HEADER, signBody } from './signature.js';

export interface SinkDeps {
  logger: Logger;
  registry: Registry;
  /** Relative paths in the sink configs are resolved against it (the config file's folder). */
  baseDir: string;
  /** Where the stdout sink writes; process.stdout unless a test or an embedding says otherwise. */
  stdout?: NodeJS.WritableStream;
  /**
   * Cluster mode: a NATS sink refuses a deposed owner's late writes in the shared stream
   * (sinks/nats-fence.ts).
   */
  fenced?: boolean;
  /** On close, how long a healthy sink keeps delivering its backlog. @defaultValue SPOOLED_SINK.closeDrainMs */
  closeDrainMs?: number;
  /** Time for every sink's timers (retries, flushes, spool); the real clock unless a test drives it. */
  clock?: Clock;
}

const USER_AGENT = 'cms-events';

/**
 * Validates `configs` (raw or already parsed by `sinksConfigSchema`) and opens every sink:
 * spools are recovered now, connections to the downstream systems are made by the delivery
 * loops, so a downstream that is down at start-up does not stop the daemon. Throws with a
 * readable message when the configs are invalid or a spool folder cannot be used.
 */
export async function createSinks(configs: readonly SinkConfigInput[], deps: SinkDeps): Promise<Sink[]> {
  const parsed = sinksConfigSchema.safeParse(configs);
  if (!parsed.success) throw new Error(`invalid sinks config:\n${z.prettifyError(parsed.error)}`);
  const names = sinkNames(parsed.data);
  const spoolDirs = new Map<string, string>();
  const sinks: Sink[] = [];
  try {
    for (const [i, config] of parsed.data.entries()) {
      const name = names[i]!;
      if (config.type !== 'stdout') {
        const dir = path.resolve(deps.baseDir, config.spoolDir ?? path.join('spool', name));
        const other = spoolDirs.get(dir);
        if (other) throw new Error(`sinks "${other}" and "${name}" must not share the spool folder ${dir}`);
        spoolDirs.set(dir, name);
      }
      sinks.push(await createSink(config, name, deps));
    }
  } catch (error) {
    await Promise.allSettled(sinks.map((s) => s.close()));
    throw error;
  }
  return sinks;
}

async function createSink(config: SinkConfig, name: string, deps: SinkDeps): Promise<Sink> {
  const logger = deps.logger;
  if (config.type === 'stdout') {
    return new StdoutSink({
      name,
      logger,
      registry: deps.registry,
      ...(deps.stdout ? { stream: deps.stdout } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
  }
  const sinkLogger = logger.child({ sink: name });
  let transport: DeliveryTransport;
  let batch: number;
  switch (config.type) {
    case 'file':
      transport = new FileTransport({
        path: path.resolve(deps.baseDir, config.path),
        maxBytes: config.maxBytes,
        maxFiles: config.maxFiles,
        logger: sinkLogger,
      });
      batch = 1000;
      break;
    case 'webhook': {
      const { WebhookTransport } = await import('./webhook.js');
      const redactor = new Secrets([config.secret, ...urlSecrets(config.url)]);
      transport = new WebhookTransport({
        url: config.url,
        secret: config.secret,
        timeoutMs: config.timeoutMs,
        redactor,
        userAgent: USER_AGENT,
      });
      batch = config.batch;
      break;
    }
    case 'redis': {
      const { RedisTransport } = await import('./redis.js');
      transport = new RedisTransport({
        url: config.url,
        stream: config.stream,
        maxLen: config.maxLen,
        streamPerServer: config.streamPerServer,
        timeoutMs: config.timeoutMs,
        redactor: new Secrets(urlSecrets(config.url)),
        logger: sinkLogger,
      });
      batch = config.batch;
      break;
    }
    case 'nats': {
      const { NatsTransport } = await import('./nats.js');
      transport = new NatsTransport({
        servers: config.servers,
        subject: config.subject,
        stream: config.stream,
        timeoutMs: config.timeoutMs,
        redactor: new Secrets(config.servers.flatMap(urlSecrets)),
        logger: sinkLogger,
        ...(deps.fenced && { fenced: true }),
      });
      batch = config.batch;
      break;
    }
    default:
      return assertNever(config, 'sink type');
  }
  try {
    return await SpooledSink.create(
      {
        name,
        type: config.type,
        spoolDir: path.resolve(deps.baseDir, config.spoolDir ?? path.join('spool', name)),
        spoolMaxBytes: config.spoolMaxBytes,
        batch,
        backoffInitialMs: config.backoffInitialMs,
        backoffMaxMs: config.backoffMaxMs,
        logger,
        registry: deps.registry,
        ...(deps.closeDrainMs !== undefined ? { closeDrainMs: deps.closeDrainMs } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
      },
      transport,
    );
  } catch (error) {
    await transport.close().catch(() => {});
    throw new Error(`sink "${name}": cannot open its spool: ${(error as Error).message}`, { cause: error });
  }
}
