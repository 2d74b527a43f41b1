// Follows the config file: an edit that parses and validates is applied, a broken one is
// reported and the last good set keeps running. Editors often replace a file rather than write
// it in place, so the folder is watched and events are filtered by name, then debounced.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { ServerTarget } from '../../session/types.js';
import { loadConfigFile } from '../config-loader.js';
import { toServerTarget } from '../config-loader.js';
import type { ServerSource } from './server-source.js';
import type { Config } from '../config-schema.js';

import { HUB } from '../../defaults.js';

export interface FileSourceOptions {
  file: string;
  logger: Logger;
  /** Told about a new valid config (for settings other than servers). */
  onConfig?: (config: Config) => void;
}

export function createFileSource({ file, logger, onConfig }: FileSourceOptions): ServerSource {
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let apply: (targets: ServerTarget[]) => void = () => {};
  let lastText: string | undefined;
  let broken = false;
  let reading = Promise.resolve();

  const read = (force: boolean) => {
    reading = reading.then(async () => {
      try {
        const loaded = await loadConfigFile(file);
        const text = JSON.stringify(loaded.config);
        const wasBroken = broken;
        broken = false;
        if (!force && text === lastText) {
          // Said so that an operator (and a test) knows the file was read and nothing restarts.
          if (wasBroken) logger.info({ file }, 'config file is valid again and unchanged from the running set');
          return;
        }
        lastText = text;
        onConfig?.(loaded.config);
        if (!loaded.config.servers) return; // servers come from serversUrl
        const targets = loaded.config.servers.map((server, index) =>
          toServerTarget(server, { baseDir: loaded.baseDir, origin: loaded.file, field: `servers[${index}]` }),
        );
        logger.info({ file, servers: targets.length }, 'config file loaded');
        apply(targets);
      } catch (error) {
        broken = true;
        logger.error({ file, problem: (error as Error).message }, 'config file is broken; the last good set of servers keeps running');
      }
    });
    return reading;
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void read(false), HUB.configDebounceMs);
  };

  return {
    async start(applyServers) {
      apply = applyServers;
      await read(true);
      const name = basename(file);
      watcher = watch(dirname(file), (_event, changed) => {
        if (changed === null || changed === name) schedule();
      });
      watcher.on('error', (error) => logger.warn({ file, err: error }, 'cannot watch the config file; SIGHUP still reloads it'));
    },
    reload() {
      void read(true);
    },
    stop() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
