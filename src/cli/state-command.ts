// `cms-events state reset`: forgets the models kept across restarts, all of them or one
// server's, so that the next start announces every call as new. It takes the state folder's
// lock like the daemon, so it refuses while a daemon uses the folder.
import { Command } from 'commander';
import { FolderLockedError } from '../folder-lock.js';
import { ConfigError, ModelStore, createLogger, loadConfigFile, resolveStateDir } from '../hub/index.js';

export function stateCommand(): Command {
  const state = new Command('state').description('the models kept across restarts (stateDir)');
  state
    .command('reset')
    .description('forget the stored models (all, or one server\'s): the next start announces every call as new')
    .requiredOption('-c, --config <file>', 'the config file whose stateDir to reset')
    .option('--server <name>', 'only this server')
    .exitOverride()
    .action(async (options: { config: string; server?: string }) => {
      let loaded;
      try {
        loaded = await loadConfigFile(options.config);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`invalid config:\n${error.message}\n`);
        process.exit(2);
      }
      const dir = resolveStateDir(loaded.config, loaded.baseDir, true);
      if (dir === null) {
        process.stdout.write(`${loaded.file} keeps no state (stateDir: null): nothing to reset\n`);
        return;
      }
      let store: ModelStore;
      try {
        store = await ModelStore.open(dir, createLogger({ level: 'warn' }));
      } catch (error) {
        if (!(error instanceof FolderLockedError)) throw error;
        process.stderr.write(`cms-events: ${error.message}\n`);
        process.exit(2);
      }
      try {
        const servers = options.server === undefined ? await store.servers() : [options.server];
        for (const server of servers) await store.remove(server);
        const what = options.server === undefined ? `${servers.length} stored model(s)` : `the stored model of ${options.server}, if there was one,`;
        process.stdout.write(`removed ${what} from ${dir}\n`);
      } finally {
        await store.close();
      }
    });
  return state;
}
