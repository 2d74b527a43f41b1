// The one logger factory: JSON (or pretty on a terminal) to stderr, stdout stays for events.
// Every line's final text passes through the process-wide secrets registry (src/secrets.ts), so
// a password or token that reaches a log through an error message or a library is still never
// written.
import pino, { type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import { MASK, processSecrets } from '../secrets.js';

/** Values that must never be written (passwords, webhook secrets), for every logger of the process. */
export function registerSecret(value: string | undefined): void {
  processSecrets.add(value);
}

/** Removes registered secrets and `authToken=` values from any text meant for output. */
export function scrubSecrets(text: string): string {
  return processSecrets.redact(text);
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Human-readable lines; default: when stderr is a terminal. */
  pretty?: boolean;
  /** Where lines go; default stderr. Tests pass a stream to inspect output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const usePretty = options.pretty ?? (options.destination === undefined && process.stderr.isTTY === true);
  const destination =
    options.destination ??
    (usePretty
      ? pretty({ destination: 2, colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization'],
        censor: MASK,
      },
      hooks: { streamWrite: scrubSecrets },
    },
    destination,
  );
}

export type { Logger };
