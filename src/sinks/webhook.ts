// Batched HTTP POSTs: the body is a JSON array of events, signed with HMAC-SHA256 over the
// exact bytes sent (`X-CMS-Events-Signature: sha256=<hex>`), so a receiver verifies the body
// before parsing it. Outcomes:
//   2xx                     delivered
//   408, 429                retried, after Retry-After when given
//   5xx, network, timeout   retried with exponential backoff (Retry-After honoured on 503 too)
//   413 (too large)         the batch is split in halves, each sent on its own (and split again
//                           if need be); only an event too large on its own is refused
//   any other status        refused for good: the batch cannot be delivered as it is, so it is
//                           logged with the status and the response, counted as rejected, and skipped
import { Agent, request } from 'undici';
import { urlWithoutCredentials, type Secrets } from '../secrets.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';
import type { SpoolRecord } from './spool/index.js';
import type { DeliveryOutcome, DeliveryTransport } from './delivery.js';

const SNIPPET_BYTES = 300;

export interface WebhookTransportOptions {
  url: string;
  secret?: string | undefined;
  timeoutMs: number;
  redactor: Secrets;
  userAgent: string;
}

/** Retry-After (seconds or HTTP date) in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class WebhookTransport implements DeliveryTransport {
  readonly target: string;
  private readonly agent: Agent;
  private readonly url: string;
  private readonly authorization: string | undefined;

  constructor(private readonly options: WebhookTransportOptions) {
    this.target = urlWithoutCredentials(options.url);
    // undici ignores credentials in the URL: send them as HTTP Basic authentication.
    const u = new URL(options.url);
    if (u.username || u.password) {
      const user = decodeURIComponent(u.username);
      const pass = decodeURIComponent(u.password);
      this.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    this.url = u.toString();
    this.agent = new Agent({ connect: { timeout: options.timeoutMs }, keepAliveTimeout: 30_000 });
  }

  async deliver(records: readonly SpoolRecord[], signal: AbortSignal): Promise<DeliveryOutcome> {
    const body = Buffer.from(`[${records.map((r) => r.line).join(',')}]`);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.options.userAgent,
    };
    if (this.options.secret) headers[SIGNATURE_HEADER] = signBody(this.options.secret, body);
    if (this.authorization) headers.authorization = this.authorization;
    try {
      const response = await request(this.url, {
        method: 'POST',
        body,
        headers,
        dispatcher: this.agent,
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        await response.body.dump();
        return { kind: 'delivered' };
      }
      const snippet = this.options.redactor.redact(await readSnippet(response.body));
      if (status === 413 && records.length > 1) return await this.deliverInHalves(records, signal);
      const error = `HTTP ${status} from ${this.target}${snippet ? `: ${snippet}` : ''}${status === 413 ? ' (this event alone is larger than the receiver takes)' : ''}`;
      if (status === 408 || status === 429 || status >= 500) {
        const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
        return { kind: 'failed', delivered: 0, error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
      }
      return { kind: 'rejected', error };
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms` : this.options.redactor.describe(error);
      return { kind: 'failed', delivered: 0, error: `POST ${this.target} failed: ${reason}` };
    }
  }

  /** After a 413: the first half, then (if it all made it) the second; outcomes count from the first record. */
  private async deliverInHalves(records: readonly SpoolRecord[], signal: AbortSignal): Promise<DeliveryOutcome> {
    const half = Math.ceil(records.length / 2);
    const first = await this.deliver(records.slice(0, half), signal);
    if (first.kind === 'rejected') return { ...first, refused: first.refused ?? half - (first.delivered ?? 0) };
    if (first.kind === 'failed') return first;
    const second = await this.deliver(records.slice(half), signal);
    if (second.kind === 'delivered') return second;
    return { ...second, delivered: half + (second.delivered ?? 0) };
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

async function readSnippet(body: AsyncIterable<Buffer | string> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(b);
      size += b.length;
      if (size >= SNIPPET_BYTES) break;
    }
  } catch {
    // The status says enough.
  }
  body.destroy();
  const text = Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8').replace(/\s+/g, ' ').trim();
  return size > SNIPPET_BYTES ? `${text}…` : text;
}
