// A deliberately small Events client that does exactly what the reference says and nothing more:
// the yardstick the simulator's own tests measure it with, and a way to watch a simulator by hand.
// It is not the project's client (src/session); sharing only wire types keeps the two honest.
import { Agent, fetch } from 'undici';
import WebSocket from 'ws';
import {
  buildAck,
  buildSubscribeRequest,
  parseServerFrame,
  type MessageAck,
  type ServerMessage,
  type Subscription,
} from '../protocol/index.js';

export interface ProbeTarget {
  readonly url: string;
  readonly caPem?: string;
  readonly username: string;
  readonly password: string;
}

export type ProbeFrame = { kind: 'message'; message: ServerMessage } | { kind: 'messageAck'; ack: MessageAck } | { kind: 'invalid'; text: string };

const agents = new Map<string, Agent>();

function agentFor(caPem: string | undefined): Agent | undefined {
  if (!caPem) return undefined;
  let agent = agents.get(caPem);
  if (!agent) {
    agent = new Agent({ connect: { ca: caPem } });
    agents.set(caPem, agent);
  }
  return agent;
}

/** POST /api/v1/authTokens; `credentials` default to the target's own. */
export async function requestToken(
  target: ProbeTarget,
  credentials: { username: string; password: string } = target,
): Promise<{ status: number; token: string | undefined; body: string }> {
  const dispatcher = agentFor(target.caPem);
  const response = await fetch(`${target.url}/api/v1/authTokens`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` },
    ...(dispatcher ? { dispatcher } : {}),
  });
  return { status: response.status, token: response.headers.get('x-cisco-cms-auth-token')?.trim() ?? undefined, body: await response.text() };
}

export const eventsUrl = (target: ProbeTarget, token: string | undefined): string =>
  `${target.url.replace(/^http/, 'ws')}/events/v1${token === undefined ? '' : `?authToken=${encodeURIComponent(token)}`}`;

/** Opens the event socket with `token`; resolves with the HTTP status when the upgrade is refused. */
export function openSocket(target: ProbeTarget, token: string | undefined): Promise<WebSocket | { refused: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(eventsUrl(target, token), target.caPem ? { ca: target.caPem } : {});
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ refused: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

export class Probe {
  readonly frames: ProbeFrame[] = [];
  /** Acks every server message on arrival; turn off to test the server's ack handling. */
  autoAck = true;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Sees every frame as it arrives, after the automatic ack: where a test plays a client's logic. */
  onFrame: ((frame: ProbeFrame) => void) | undefined;
  private nextClientId = 1;
  private readonly listeners = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {
      // close follows; tests look at `closed`.
    });
    ws.on('message', (data: WebSocket.RawData) => {
      const parsed = parseServerFrame(data as Buffer);
      if (!parsed.ok) this.frames.push({ kind: 'invalid', text: data.toString() });
      else if (parsed.kind === 'messageAck') this.frames.push({ kind: 'messageAck', ack: parsed.ack });
      else {
        this.frames.push({ kind: 'message', message: parsed.message });
        if (this.autoAck) this.ack(parsed.message.messageId);
      }
      this.onFrame?.(this.frames[this.frames.length - 1] as ProbeFrame);
      for (const listener of this.listeners) listener();
    });
  }

  static async open(target: ProbeTarget): Promise<Probe> {
    const { token, status } = await requestToken(target);
    if (!token) throw new Error(`no token (HTTP ${status})`);
    const ws = await openSocket(target, token);
    if ('refused' in ws) throw new Error(`upgrade refused with HTTP ${ws.refused}`);
    return new Probe(ws);
  }

  /** Sends a subscribeRequest for the whole set; returns its message id. */
  subscribe(subscriptions: Subscription[]): number {
    const id = this.nextClientId;
    this.nextClientId += 1;
    this.ws.send(buildSubscribeRequest(id, subscriptions));
    return id;
  }

  ack(messageId: number, status = 'success'): void {
    this.ws.send(buildAck(messageId, status));
  }

  send(text: string): void {
    this.ws.send(text);
  }

  messages(): ServerMessage[] {
    return this.frames.flatMap((f) => (f.kind === 'message' ? [f.message] : []));
  }

  /** The first frame at index >= `from` that matches; waits for it up to `timeoutMs`. */
  waitFor(match: (frame: ProbeFrame) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<ProbeFrame> {
    const { from = 0, timeoutMs = 3000 } = options;
    return new Promise((resolve, reject) => {
      let scanned = from;
      const check = () => {
        for (; scanned < this.frames.length; scanned += 1) {
          const frame = this.frames[scanned] as ProbeFrame;
          if (match(frame)) {
            done();
            resolve(frame);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms (${this.frames.length} frames seen)`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Waits until `count` frames have arrived in all. */
  async waitForCount(count: number, timeoutMs = 3000): Promise<void> {
    if (this.frames.length >= count) return;
    await this.waitFor(() => this.frames.length >= count, { timeoutMs });
  }

  /** Resolves once no frame has arrived for `ms`. */
  async quiet(ms: number): Promise<void> {
    let seen = -1;
    while (seen !== this.frames.length) {
      seen = this.frames.length;
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}
