// The whole fleet as every instance sees it (README.md, "Running several instances"): each
// server's last published model, kept current by following the journal stream, where every
// owner writes its servers' events before its sinks get them. The HTTP API, the SSE stream, the
// meetings and the dashboard of any instance show every server this way; the servers an
// instance follows itself are shown from its own model, and their journal lines only keep this
// view current for the moment it stops following them.
//
// A journal line counts when its epoch is that of the latest takeover marker seen on its
// subject (an earlier owner's late writes do not), and, for the owner whose published model the
// view started from, when its generation is newer than that model's (src/cluster/takeover.ts
// reads a server's tail by the same rule).
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { ConnectionOptions } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { realClock, sleep, type Clock } from '../clock.js';
import type { FleetObserver, FleetView } from '../hub/ownership.js';
import { ReplayedModel, type CallView, type CmsEvent } from '../state/index.js';
import { JOURNAL_STREAM, MODELS_BUCKET } from './buckets.js';
import { connectNats } from './nats-connection.js';
import { EPOCH_HEADER, GENERATION_HEADER, TAKEOVER_HEADER } from './journal.js';
import { serverFromKey } from './keys.js';
import { decodePublished } from './published-model.js';

const JOURNAL_FILTER = 'cms_events.journal.*';

interface ServerView {
  model: ReplayedModel;
  /** The epoch of the latest takeover seen on its subject (lines of other epochs do not count). */
  epoch: number;
  /** The published model the view started from: its owner's lines up to this generation are in it. */
  base: { epoch: number; generation: number } | undefined;
}

export interface FleetFeedParts {
  /** Its own connection: the view does not wait for, or disturb, the leases' connection. */
  nats: ConnectionOptions;
  log: Logger;
  clock?: Clock;
}

const RETRY_MS = 1_000;

export class FleetFeed implements FleetView {
  readonly #parts: FleetFeedParts;
  readonly #views = new Map<string, ServerView>();
  #observer: FleetObserver | undefined;
  #nc: NatsConnection | undefined;
  #stop: (() => void) | undefined;
  #stopped = false;

  constructor(parts: FleetFeedParts) {
    this.#parts = parts;
  }

  calls(server: string): CallView[] | undefined {
    return this.#views.get(server)?.model.calls().map(({ call, roster }) => ({ ...call, roster }));
  }

  /** Resolves at once: NATS is reached in the background (retrying), then the view is built and followed. */
  async start(observer: FleetObserver): Promise<void> {
    this.#observer = observer;
    void this.#run();
  }

  async #run(): Promise<void> {
    const { log } = this.#parts;
    const clock = this.#parts.clock ?? realClock;
    while (!this.#stopped) {
      try {
        await this.#follow();
        return;
      } catch (error) {
        log.debug({ error: (error as Error).message }, 'the fleet view cannot reach NATS yet; retrying');
        this.#stop?.();
        await this.#nc?.close().catch(() => undefined);
        this.#nc = undefined;
        await sleep(clock, RETRY_MS);
      }
    }
  }

  /** Loads the published models, then follows the journal from the oldest of their tails on. */
  async #follow(): Promise<void> {
    const observer = this.#observer!;
    const { log } = this.#parts;
    this.#nc = await connectNats(this.#parts.nats);
    if (this.#stopped) return;
    const js = jetstream(this.#nc);
    const jsm = await jetstreamManager(this.#nc);
    const models = await new Kvm(js).create(MODELS_BUCKET, { history: 1 });
    this.#views.clear();
    let from = Number.POSITIVE_INFINITY;
    for await (const key of await models.keys()) {
      const server = serverFromKey(key);
      const entry = await models.get(key);
      if (server === undefined || entry === null || entry.operation !== 'PUT') continue;
      const decoded = decodePublished(entry.string(), server);
      if (!decoded.ok) continue;
      const { calls, epoch, generation, fromSeq } = decoded.model;
      this.#views.set(server, { model: new ReplayedModel(calls), epoch, base: { epoch, generation } });
      observer.loaded(server, calls);
      from = Math.min(from, fromSeq);
    }
    // The journal stream may not exist yet (no instance has joined): wait for it like for NATS.
    const caughtUp = (await jsm.streams.info(JOURNAL_STREAM)).state.last_seq;
    const consumer = await js.consumers.get(JOURNAL_STREAM, {
      filter_subjects: JOURNAL_FILTER,
      ...(Number.isFinite(from) ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from } : { deliver_policy: DeliverPolicy.New }),
    });
    const messages = await consumer.consume();
    this.#stop = () => messages.stop();
    void (async () => {
      for await (const message of messages) {
        const server = serverFromKey(message.subject.slice(JOURNAL_FILTER.length - 1));
        if (server === undefined) continue;
        this.#take(server, message.headers, message.string(), message.seq > caughtUp);
      }
    })().catch((error: unknown) => {
      if (!this.#stopped) log.error({ error: (error as Error).message }, 'following the fleet\'s journal stopped');
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop?.();
    await this.#nc?.close().catch(() => undefined);
  }

  #take(server: string, h: { get(name: string): string } | undefined, line: string, live: boolean): void {
    let view = this.#views.get(server);
    const takeover = h?.get(TAKEOVER_HEADER);
    if (takeover) {
      const epoch = Number(takeover);
      if (view === undefined) this.#views.set(server, { model: new ReplayedModel(), epoch, base: undefined });
      else view.epoch = Math.max(view.epoch, epoch);
      return;
    }
    if (view === undefined) return; // before any takeover seen: nothing to build on
    const epoch = Number(h?.get(EPOCH_HEADER));
    if (epoch !== view.epoch) return;
    if (view.base !== undefined && epoch === view.base.epoch && Number(h?.get(GENERATION_HEADER)) <= view.base.generation) return;
    const event = view.model.apply(line);
    if (event !== undefined && this.#observer !== undefined) this.#observer.observe(server, [event as CmsEvent], live);
  }
}
