// The raw baseline: the leanest correct client of the Events feed, and nothing else. Per server:
// a fresh token, the WebSocket, a subscribeRequest for `calls` plus `callInfo` and `callRoster`
// of every call it learns about, JSON.parse of each frame, and its ack. No state, no events, no
// output, no reconnect. Every throughput figure of the daemon is compared with this client,
// measured in the same run against the same simulator.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { CALL_ELEMENTS, CALL_INFO_ELEMENTS, CALL_ROSTER_ELEMENTS } from '../src/protocol/elements.js';
import { startAllocationSampling, stopAllocationSampling } from './lib/alloc.js';
import { wallNow } from './lib/clock.js';
import { emit, serveCommands } from './lib/commands.js';
import { SampleBuffer } from './lib/stats.js';
import type { SimServerInfo } from './sim-process.js';

interface WireMessage {
  messageId: number;
  type: string;
  updates?: { call?: string; updateType?: string }[];
  subscriptions?: { index: number; state: string }[];
}

function fetchToken(server: SimServerInfo, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: server.host, port: server.port, method: 'POST', path: '/api/v1/authTokens', auth: `${server.username}:${server.password}`, ca, agent: false },
      (res) => {
        res.resume();
        const token = res.headers['x-cisco-cms-auth-token'];
        if (res.statusCode === 200 && typeof token === 'string') resolve(token.trim());
        else reject(new Error(`token request to ${server.name}: HTTP ${res.statusCode}`));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

class RawFeed {
  private ws: WebSocket | undefined;
  private nextClientId = 1;
  /** Call id → index of its callInfo subscription (callRoster is the next index). */
  private readonly calls = new Map<string, number>();
  private nextIndex = 2;
  private readonly states = new Map<number, string>();
  private wasLive = false;
  readonly receivedAt = new SampleBuffer();
  readonly receivedId = new SampleBuffer();
  recording = false;
  messages = 0;

  constructor(
    readonly server: SimServerInfo,
    private readonly ca: Buffer,
    private readonly onLive: () => void,
  ) {}

  async connect(): Promise<void> {
    const token = await fetchToken(this.server, this.ca);
    const ws = new WebSocket(`wss://${this.server.host}:${this.server.port}/events/v1?authToken=${encodeURIComponent(token)}`, {
      ca: this.ca,
      perMessageDeflate: false,
    });
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.receive(data));
    ws.on('close', () => emit('closed', { server: this.server.name }));
    ws.on('error', (error) => emit('error', { server: this.server.name, message: error.message }));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    this.subscribe();
  }

  close(): void {
    this.ws?.close();
  }

  private subscribe(): void {
    const subscriptions: object[] = [{ index: 1, type: 'calls', elements: CALL_ELEMENTS }];
    for (const [call, index] of this.calls) {
      subscriptions.push({ index, type: 'callInfo', call, elements: CALL_INFO_ELEMENTS });
      subscriptions.push({ index: index + 1, type: 'callRoster', call, elements: CALL_ROSTER_ELEMENTS });
    }
    this.ws!.send(JSON.stringify({ type: 'message', message: { messageId: this.nextClientId++, type: 'subscribeRequest', subscriptions } }));
  }

  private receive(data: Buffer): void {
    const frame = JSON.parse(data.toString()) as { type: string; message?: WireMessage };
    // A messageAck answers our subscribeRequest; it is never acked.
    if (frame.type !== 'message' || !frame.message) return;
    const message = frame.message;
    if (this.recording) {
      this.receivedAt.push(wallNow());
      this.receivedId.push(message.messageId);
    }
    this.messages++;
    this.ws!.send(`{"type":"messageAck","messageAck":{"messageId":${message.messageId},"status":"success"}}`);
    if (message.type === 'callListUpdate') this.callList(message);
    else if (message.type === 'subscriptionUpdate') this.subscriptionStates(message);
  }

  private callList(message: WireMessage): void {
    let changed = false;
    for (const update of message.updates ?? []) {
      if (!update.call) continue;
      if (update.updateType === 'add' && !this.calls.has(update.call)) {
        this.calls.set(update.call, this.nextIndex);
        this.nextIndex += 2;
        changed = true;
      } else if (update.updateType === 'remove') {
        const index = this.calls.get(update.call);
        if (index !== undefined) {
          this.calls.delete(update.call);
          this.states.delete(index);
          this.states.delete(index + 1);
          changed = true;
        }
      }
    }
    if (changed) this.subscribe();
  }

  private subscriptionStates(message: WireMessage): void {
    for (const sub of message.subscriptions ?? []) this.states.set(sub.index, sub.state);
    if (this.wasLive || this.states.get(1) !== 'active') return;
    // The calls snapshot follows its `active` state; with no call at all nothing follows.
    if (this.calls.size === 0) {
      setTimeout(() => this.live(), 300).unref();
      return;
    }
    if ([...this.calls.values()].every((i) => this.states.get(i) === 'active' && this.states.get(i + 1) === 'active')) this.live();
  }

  private live(): void {
    if (this.wasLive) return;
    this.wasLive = true;
    this.onLive();
  }
}

let feeds: RawFeed[] = [];

serveCommands({
  async start(args: { servers: SimServerInfo[]; record?: boolean }): Promise<void> {
    let live = 0;
    const cas = new Map<string, Buffer>();
    feeds = args.servers.map((server) => {
      let ca = cas.get(server.caPath);
      if (!ca) cas.set(server.caPath, (ca = readFileSync(server.caPath)));
      return new RawFeed(server, ca, () => {
        if (++live === feeds.length) emit('live');
      });
    });
    for (const feed of feeds) feed.recording = args.record === true;
    await Promise.all(feeds.map((feed) => feed.connect()));
  },

  counts(): { messages: number } {
    return { messages: feeds.reduce((sum, f) => sum + f.messages, 0) };
  },

  dump(): { names: string[]; times: Float64Array[]; ids: Float64Array[] } {
    return { names: feeds.map((f) => f.server.name), times: feeds.map((f) => f.receivedAt.toArray()), ids: feeds.map((f) => f.receivedId.toArray()) };
  },

  allocStart: (args?: { retainedOnly?: boolean }) => startAllocationSampling(args),

  allocStop: (args: { top?: number }) => stopAllocationSampling(args.top),

  stop(): void {
    for (const feed of feeds) feed.close();
    setTimeout(() => process.exit(0), 200);
  },
});
