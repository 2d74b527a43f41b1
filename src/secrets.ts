// Secrets (passwords, tokens, webhook secrets, credentials inside URLs, the `authToken=` of the
// event URL) must never reach a log line, an event, an error or a status. Every text shown to
// the outside passes through a Secrets registry, which masks each known value and every
// `authToken=` with one mask. The process-wide registry behind the logger is `processSecrets`;
// a part with secrets of its own (a sink's URL, a server's password) builds its own as well, so
// its error texts are clean before they are stored anywhere.

export const MASK = '***';

const AUTH_TOKEN_IN_URL = /(authToken=)[^&\s"'<>\\]*/gi;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Secrets {
  readonly #values = new Set<string>();
  #pattern: RegExp | null = null;

  /** `minLength`: shorter values are ignored (a process-wide registry would mask ordinary words). */
  constructor(values: Iterable<string | undefined> = [], private readonly minLength = 1) {
    for (const value of values) this.add(value);
  }

  add(value: string | undefined): void {
    if (!value || value.length < this.minLength || this.#values.has(value)) return;
    this.#values.add(value);
    // The JSON-escaped form too: a secret with a quote or backslash appears escaped in log lines.
    const alternatives = [...this.#values].flatMap((s) => [escapeRegExp(s), escapeRegExp(JSON.stringify(s).slice(1, -1))]);
    // Longest first, so that a secret containing another is masked whole.
    this.#pattern = new RegExp([...new Set(alternatives)].sort((a, b) => b.length - a.length).join('|'), 'g');
  }

  redact(text: string): string {
    let out = text.includes('uthToken=') ? text.replace(AUTH_TOKEN_IN_URL, `$1${MASK}`) : text;
    if (this.#pattern) out = out.replace(this.#pattern, MASK);
    return out;
  }

  /** A short, secret-free description of any thrown value. */
  describe(error: unknown): string {
    if (error instanceof AggregateError && error.errors.length > 0) return this.redact(error.errors.map(describeError).join('; '));
    return this.redact(describeError(error));
  }
}

/** Every logger of the process masks these (hub/logger.ts); servers' passwords are added as they start. */
export const processSecrets = new Secrets([], 3);

/** `text` with `secrets` and any `authToken=` value masked. */
export function redact(text: string, secrets: Iterable<string | undefined> = []): string {
  return new Secrets(secrets).redact(text);
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message || error.name;
    return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(error);
}

/** The URL with any password (or a lone token in the user part) masked. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL we can parse: hide everything between "//" and "@", where credentials live.
    return url.replace(/\/\/[^/@]*@/, `//${MASK}@`);
  }
  if (parsed.password) {
    parsed.password = MASK;
  } else if (parsed.username && /^(nats|tls|wss?)$/.test(parsed.protocol.replace(':', ''))) {
    // nats://TOKEN@host carries a token in the user part.
    parsed.username = MASK;
  }
  return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}

/** Scheme, host and path only: credentials and the query string (where tokens live) are left out. */
export function urlWithoutCredentials(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** The credentials a URL carries, raw and decoded, so that they can be masked in any text. */
export function urlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const secrets = [parsed.password, parsed.username && !parsed.password ? parsed.username : ''].filter((s) => s.length > 0);
    return [...secrets, ...secrets.map(decodeURIComponent)];
  } catch {
    return [];
  }
}
