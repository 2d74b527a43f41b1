// Secrets (webhook secrets, passwords and tokens inside redis/nats URLs) must never reach logs,
// errors or status. Every sink builds one Redactor from its own secrets and passes every text
// it shows to the outside through it.

const MASK = '***';

/** The URL with any password (or a lone token in the user part) replaced by `***`. */
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
  } else if (parsed.username && !parsed.password && /^(nats|tls|wss?)$/.test(parsed.protocol.replace(':', ''))) {
    // nats://TOKEN@host carries a token in the user part.
    parsed.username = MASK;
  }
  return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}

/** The credentials a URL carries, decoded, so that they can be scrubbed from any text. */
export function urlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const secrets = [parsed.password, parsed.username && !parsed.password ? parsed.username : '']
      .filter((s) => s.length > 0);
    return [...secrets, ...secrets.map(decodeURIComponent)];
  } catch {
    return [];
  }
}

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string | undefined>) {
    // Longest first, so that a secret containing another is masked whole.
    this.secrets = [...new Set([...secrets].filter((s): s is string => !!s && s.length >= 3))].sort(
      (a, b) => b.length - a.length,
    );
  }

  text(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
    return out;
  }

  /** A short, secret-free description of any thrown value. */
  error(error: unknown): string {
    if (error instanceof AggregateError && error.errors.length > 0) {
      return this.text(error.errors.map((e) => describe(e)).join('; '));
    }
    return this.text(describe(error));
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message || error.name;
    return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(error);
}
