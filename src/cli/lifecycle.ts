// Signal handling shared by the long-running commands: SIGTERM/SIGINT stop everything cleanly and
// exit 0; a second signal exits at once; SIGHUP reloads.
import type { Logger } from 'pino';

export function runUntilSignal(logger: Logger, stop: () => Promise<void>, reload?: () => void): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (reload) {
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading the server list');
      reload();
    });
  }
  process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled promise rejection'));
}
