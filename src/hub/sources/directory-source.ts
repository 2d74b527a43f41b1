// Polls a directory service for the server list. Honours ETag so an unchanged list costs a 304,
// skips `active: false` entries, and keeps the last good list when the directory fails.
import type { Logger } from 'pino';
import type { ServerTarget } from '../../session/types.js';
import { parseServerEntry, toServerTarget } from '../config-loader.js';
import type { ServerSource } from './server-source.js';
import { urlWithoutCredentials } from '../../secrets.js';

export interface DirectorySourceOptions {
  url: string;
  refreshSeconds: number;
  logger: Logger;
  /** Folder that relative passwordFile/ca paths in entries are resolved against. */
  baseDir: string;
  requestTimeoutMs?: number;
}

export function createDirectorySource(options: DirectorySourceOptions): ServerSource {
  const { url, logger, baseDir } = options;
  const where = urlWithoutCredentials(url);
  let etag: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let apply: (targets: ServerTarget[]) => void = () => {};
  let inFlight: Promise<void> | undefined;

  const entriesOf = (body: unknown): unknown[] | undefined => {
    if (Array.isArray(body)) return body;
    if (body && typeof body === 'object' && Array.isArray((body as { servers?: unknown }).servers)) {
      return (body as { servers: unknown[] }).servers;
    }
    return undefined;
  };

  const poll = async () => {
    try {
      const response = await fetch(url, {
        headers: etag ? { 'if-none-match': etag, accept: 'application/json' } : { accept: 'application/json' },
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? 10_000),
      });
      if (response.status === 304) return;
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const entries = entriesOf(await response.json());
      if (!entries) throw new Error('the answer is neither an array of servers nor { "servers": [...] }');
      const targets: ServerTarget[] = [];
      const names = new Set<string>();
      entries.forEach((entry, index) => {
        try {
          const server = parseServerEntry(entry, where, index);
          if (server.active === false) return;
          if (names.has(server.name)) throw new Error(`${where}: [${index}].name: duplicate server name "${server.name}"`);
          names.add(server.name);
          targets.push(toServerTarget(server, { baseDir, origin: where, field: `[${index}]` }));
        } catch (error) {
          logger.error({ directory: where, problem: (error as Error).message }, 'directory entry skipped');
        }
      });
      etag = response.headers.get('etag') ?? undefined;
      logger.info({ directory: where, servers: targets.length }, 'server directory loaded');
      apply(targets);
    } catch (error) {
      logger.error({ directory: where, problem: (error as Error).message }, 'server directory failed; keeping the last good list');
    }
  };

  const runPoll = () => {
    inFlight ??= poll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void runPoll().then(loop), options.refreshSeconds * 1000);
  };

  return {
    async start(applyServers) {
      apply = applyServers;
      await runPoll();
      loop();
    },
    reload() {
      etag = undefined;
      void runPoll();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
