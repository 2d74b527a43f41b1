// The one logger factory: JSON (or pretty on a terminal) to stderr, stdout stays for events.
// Secrets are scrubbed from the final text of every line, so a password or token that reaches a
// log through an error message or a library is still never written.
import pino, { type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

const AUTH_TOKEN_IN_URL = /(authToken=)[^&\s"'\\]+/gi;

/** Values that must never be written (passwords, webhook secrets). Shared by every logger of the process. */
const secrets = new Set<string>();
let secretPattern: RegExp | null = null;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function registerSecret(value: string | undefined): void {
  // Very short values would redact ordinary words; the config schema refuses empty ones anyway.
  if (!value || value.length < 3 || secrets.has(value)) return;
  secrets.add(value);
  const alternatives = [...secrets].flatMap((s) => [escape(s), escape(JSON.stringify(s).slice(1, -1))]);
  secretPattern = new RegExp(alternatives.sort((a, b) => b.length - a.length).join('|'), 'g');
}

/** Removes registered secrets and `authToken=` values from any text meant for output. */
export function scrubSecrets(text: string): string {
  let out = text.includes('uthToken=') ? text.replace(AUTH_TOKEN_IN_URL, '$1[REDACTED]') : text;
  if (secretPattern) out = out.replace(secretPattern, '[REDACTED]');
  return out;
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
        censor: '[REDACTED]',
      },
      hooks: { streamWrite: scrubSecrets },
    },
    destination,
  );
}

export type { Logger };
