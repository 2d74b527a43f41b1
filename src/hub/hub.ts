// The hub: one session per configured server, all at once. It keeps the server set in step with
// its source (config file or directory), fans each event out to sinks, live listeners and the
// handler queue, and decides when a message may be acked (the ack policy of the contract).
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createSession } from '../session/index.js';
import type { ServerTarget, SessionStatus, SessionTimings } from '../session/types.js';
import type { CallView, CmsEvent, CmsEventType, EventOfType } from '../state/events.js';
import type { ServerState } from '../state/server-state.js';
import type { Sink, SinkStatus } from '../sinks/types.js';
import { createSinks } from '../sinks/index.js';
import { newEventId } from '../state/event-id.js';
import { eventLine } from '../state/event-line.js';
import { serverDisconnected } from '../state/server-events.js';
import type { Config, ConfigInput } from './config-schema.js';
import { validateConfig, toServerTarget } from './config-loader.js';
import type { HandlerContext } from './context.js';
import { ServerDispatcher } from './dispatcher.js';
import { HandlerRegistry, type Handler } from './handlers.js';
import { createLogger, registerSecret } from './logger.js';
import { createHubMetrics, type HubMetrics } from './metrics.js';
import { diffServers } from './server-diff.js';
import { ServerRuntime } from './server-runtime.js';
import { createDirectorySource } from './sources/directory-source.js';
import { createFileSource } from './sources/file-source.js';
import type { ServerSource } from './sources/server-source.js';

export interface HubOptions {
  /** The config file the servers come from; watched, and re-read on reload(). */
  configFile?: string;
  logger?: Logger;
  registry?: Registry;
  /** Ready-made sinks; by default they are created from `config.sinks` (stdout when absent). */
  sinks?: Sink[];
  /** Session timing overrides (tests, benchmarks). */
  sessionTimings?: Partial<SessionTimings>;
}

export interface ServerView extends SessionStatus {
  host: string;
  port: number;
  calls: number;
  eventsPerSecond: number;
}

/**
 * Listener for every event of every server, with its JSON line (SSE, dashboards) and the id of
 * the CMS message it came from (ids count per connection; undefined for events no message
 * carried, such as server.disconnected or a snapshot ended by quiet time). Taps run right
 * after the sinks were handed the event (usually just after the message was acked: see receive).
 */
export type EventTap = (event: CmsEvent, line: string, messageId: number | undefined) => void;

const STOP_DRAIN_MS = 5_000;

export class Hub {
  readonly logger: Logger;
  readonly metrics: HubMetrics;
  private readonly config: Config;
  private readonly handlers = new HandlerRegistry();
  private readonly runtimes = new Map<string, ServerRuntime>();
  private readonly taps = new Set<EventTap>();
  private sinks: Sink[] = [];
  /** Per sink: the pending write while the sink is full, so later writes queue behind it in order. */
  private sinkBlocked: (Promise<void> | undefined)[] = [];
  /** Events (and their CMS message ids) waiting for the microtask that writes them (see receive). */
  private output: CmsEvent[] = [];
  private outputIds: (number | undefined)[] = [];
  private source: ServerSource | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;

  constructor(config: Config, private readonly options: HubOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? createLogger({ level: config.log?.level });
    this.metrics = createHubMetrics(
      {
        statuses: () => [...this.runtimes.values()].map((rt) => rt.session.status()),
        queueDepths: () => new Map([...this.runtimes].map(([name, rt]) => [name, rt.dispatcher.depth])),
        eventCounts: () => new Map([...this.runtimes].map(([name, rt]) => [name, rt.eventCounts])),
      },
      options.registry,
    );
  }

  /** Registers a handler for one event type, or '*' for all; returns a function that removes it. */
  on<T extends CmsEventType>(type: T, handler: Handler<EventOfType<T>>): () => void;
  on(type: '*', handler: Handler): () => void;
  on(type: CmsEventType | '*', handler: Handler<never>): () => void {
    return this.handlers.on(type as '*', handler as Handler);
  }

  tap(listener: EventTap): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('hub already started');
    this.started = true;
    const baseDir = this.options.configFile ? dirname(resolve(this.options.configFile)) : process.cwd();
    this.sinks = this.options.sinks ?? (await createSinks(this.config.sinks, { logger: this.logger, registry: this.metrics.registry, baseDir }));
    this.sinkBlocked = this.sinks.map(() => undefined);
    this.sampler = setInterval(() => {
      const now = Date.now();
      for (const rt of this.runtimes.values()) rt.sample(now);
    }, 1000).unref();

    if (this.config.serversUrl) {
      this.source = createDirectorySource({
        url: this.config.serversUrl,
        refreshSeconds: this.config.serversRefreshSeconds,
        logger: this.logger,
        baseDir,
      });
    } else if (this.options.configFile) {
      this.source = createFileSource({ file: this.options.configFile, logger: this.logger });
    }
    if (this.source) {
      await this.source.start((targets) => this.applyServers(targets));
    } else {
      const targets = (this.config.servers ?? []).map((server, index) =>
        toServerTarget(server, { baseDir, origin: 'config', field: `servers[${index}]` }),
      );
      this.applyServers(targets);
    }
    await this.applying;
  }

  /** Re-reads the server source now (SIGHUP). */
  reload(): void {
    this.source?.reload();
  }

  /** Applies a new server list as a diff; untouched servers are not interrupted. */
  applyServers(targets: ServerTarget[]): Promise<void> {
    this.applying = this.applying.then(async () => {
      if (this.stopped) return;
      const diff = diffServers(new Map([...this.runtimes].map(([name, rt]) => [name, rt.target])), targets);
      if (!diff.added.length && !diff.removed.length && !diff.changed.length) return;
      this.logger.info(
        { added: diff.added.map((t) => t.name), removed: diff.removed, changed: diff.changed.map((t) => t.name) },
        'server set changed',
      );
      await Promise.all([
        ...diff.removed.map((name) => this.stopServer(name, 'removed from configuration')),
        ...diff.changed.map(async (target) => {
          const previous = this.runtimes.get(target.name)?.session.state;
          await this.stopServer(target.name, 'configuration changed');
          this.startServer(target, previous);
        }),
      ]);
      for (const target of diff.added) this.startServer(target);
    });
    return this.applying;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.source?.stop();
    clearInterval(this.sampler);
    await this.applying;
    await Promise.all([...this.runtimes.keys()].map((name) => this.stopServer(name, 'daemon stopping')));
    await Promise.all(this.sinks.map((sink) => sink.close()));
  }

  servers(): ServerView[] {
    return [...this.runtimes.values()].map((rt) => ({
      ...rt.session.status(),
      host: rt.target.host,
      port: rt.target.port,
      calls: rt.session.calls().length,
      eventsPerSecond: rt.eventsPerSecond(),
    }));
  }

  calls(server: string): CallView[] | undefined {
    return this.runtimes.get(server)?.session.calls();
  }

  sinkStatuses(): SinkStatus[] {
    return this.sinks.map((sink) => sink.status());
  }

  /** True when every server's feed is live. */
  ready(): boolean {
    for (const rt of this.runtimes.values()) if (rt.session.status().state !== 'live') return false;
    return true;
  }

  /** `state`: the model of the session this one replaces, so its calls are not announced again. */
  private startServer(target: ServerTarget, state?: ServerState): void {
    registerSecret(target.password);
    const rt = new ServerRuntime(target);
    const logger = this.logger.child({ server: target.name });
    const dispatch = this.config.dispatch;
    rt.session = createSession({
      target,
      logger,
      timings: this.options.sessionTimings,
      ...(state && { state }),
      receiver: (events, messageId) => this.receive(rt, events, messageId),
      onAcked: () => rt.dispatcher.acked(rt.messageSeq),
    });
    const context: HandlerContext = {
      server: target.name,
      logger,
      session: {
        name: target.name,
        status: () => rt.session.status(),
        subscribeCall: (callId, types) => rt.session.subscribeCall(callId, types),
        unsubscribeCall: (callId) => rt.session.unsubscribeCall(callId),
      },
    };
    rt.dispatcher = new ServerDispatcher({
      context,
      registry: this.handlers,
      queueSize: dispatch.queueSize,
      handlerTimeoutMs: dispatch.handlerTimeoutMs,
      hooks: {
        onHandlerError: (_event, kind) => this.metrics.handlerErrors.inc({ server: target.name, kind }),
        onHandlerDone: (event, seconds) => this.metrics.handlerSeconds.observe({ type: event.type }, seconds),
      },
    });
    this.runtimes.set(target.name, rt);
    rt.session.start();
  }

  private async stopServer(name: string, reason: string): Promise<void> {
    const rt = this.runtimes.get(name);
    if (!rt) return;
    rt.disconnectAnnounced = false;
    await rt.session.stop();
    if (!rt.disconnectAnnounced) {
      await this.receive(rt, [serverDisconnected(name, newEventId(), new Date().toISOString(), reason)], undefined);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      rt.dispatcher.waitForIdle(),
      new Promise<void>((done) => {
        timer = setTimeout(done, STOP_DRAIN_MS);
      }),
    ]);
    clearTimeout(timer);
    this.runtimes.delete(name);
  }

  /**
   * One message's events: queued for handlers, then written to the sinks and shown to taps.
   * Returns a promise only when the ack must wait: a sink or the handler queue is full, or the
   * config asks to ack after handlers. This is the per-message hot path.
   *
   * While no sink is full, the lines are built and handed to sinks and taps in a microtask: in
   * the same tick, in order, but after the session has sent this message's ack. A CMS sends its
   * next message only once it has the ack, so the next message is on its way while this one's
   * line is serialised and written (in lock-step that work was 5–7 % of each round trip). Nothing
   * is given up by it: the sinks keep their lines in memory until the end of the turn either way
   * (stdout's 1 ms batch, the spool's write), and a sink that becomes full during that write
   * holds back the next ack, as a full handler queue does.
   */
  private receive(rt: ServerRuntime, events: CmsEvent[], messageId: number | undefined): void | Promise<void> {
    const seq = messageId === undefined ? 0 : ++rt.messageSeq;
    const dispatching = !this.handlers.isEmpty;
    const writing = this.sinks.length > 0 || this.taps.size > 0;
    const blocked = writing && this.sinkBlocked.some(Boolean);
    // Order: anything deferred goes out before what is written now.
    if (blocked && this.output.length > 0) this.writeOutput();
    let waits: Promise<void>[] | undefined;
    for (const event of events) {
      rt.count(event.type);
      if (event.type === 'server.connected') rt.connected = true;
      else if (event.type === 'server.disconnected') {
        rt.connected = false;
        rt.disconnectAnnounced = true;
        rt.dispatcher.dropPendingFollowUps();
      }
      if (dispatching) rt.dispatcher.enqueue(event, seq);
      if (!writing) continue;
      if (blocked) {
        waits = this.handOut(event, messageId, waits);
        continue;
      }
      // The first event into an empty batch schedules the microtask that writes the batch.
      if (this.output.length === 0) queueMicrotask(this.writeOutput);
      this.output.push(event);
      this.outputIds.push(messageId);
    }
    if (dispatching) {
      if (this.config.dispatch.ackAfterHandlers) (waits ??= []).push(rt.dispatcher.waitForIdle());
      else if (rt.dispatcher.full) (waits ??= []).push(rt.dispatcher.waitForRoom());
    }
    if (!waits) return undefined;
    return Promise.all(waits).then(() => undefined);
  }

  /** Writes the deferred events to the sinks and taps, in order (see receive). */
  private readonly writeOutput = (): void => {
    const events = this.output;
    const ids = this.outputIds;
    this.output = [];
    this.outputIds = [];
    for (let k = 0; k < events.length; k++) {
      try {
        // A sink that fills up here holds back the next ack: receive() sees it blocked.
        this.handOut(events[k]!, ids[k], undefined);
      } catch (error) {
        this.logger.error({ err: error, event: events[k]!.id }, 'writing an event to a sink or tap failed');
      }
    }
  };

  /** One event's line to every sink and tap; adds the waits of full sinks to `waits`. */
  private handOut(event: CmsEvent, messageId: number | undefined, waits: Promise<void>[] | undefined): Promise<void>[] | undefined {
    const line = eventLine(event);
    for (let i = 0; i < this.sinks.length; i++) {
      const wait = this.writeToSink(i, event, line);
      if (wait) (waits ??= []).push(wait);
    }
    for (const tap of this.taps) tap(event, line, messageId);
    return waits;
  }

  private writeToSink(index: number, event: CmsEvent, line: string): Promise<void> | undefined {
    const sink = this.sinks[index]!;
    const blocked = this.sinkBlocked[index];
    const pending = blocked ? blocked.then(() => sink.write(event, line)) : sink.write(event, line);
    if (!pending) return undefined;
    const settled: Promise<void> = pending
      .catch((error: unknown) => this.logger.error({ sink: sink.name, err: error }, 'sink write failed'))
      .then(() => {
        // A failed write unblocks too: holding every later ack behind it would stall the feed.
        if (this.sinkBlocked[index] === settled) this.sinkBlocked[index] = undefined;
      });
    this.sinkBlocked[index] = settled;
    return settled;
  }
}

/** Creates a hub from a config object (validated here) or an already validated config. */
export function createHub(config: ConfigInput | Config, options: HubOptions = {}): Hub {
  const validated = validateConfig(config, options.configFile ?? 'config');
  return new Hub(validated, options);
}
