// The hub: one session per configured server, all at once. It keeps the server set in step with
// its source (config file or directory), builds each server's pipeline (server-pipeline.ts: the
// per-message path and the ack policy), owns the sinks (sink-fanout.ts) and answers the views.
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ServerTarget, SessionTimings } from '../session/types.js';
import type { CallView, CmsEvent, CmsEventType, EventOfType } from '../state/events.js';
import { Meetings, type MeetingView } from '../state/meetings.js';
import { SERVER_REMOVED_REASON } from '../state/server-state.js';
import type { Sink, SinkStatus } from '../sinks/types.js';
import { createSinks } from '../sinks/index.js';
import type { Config, ConfigInput } from './config-schema.js';
import { validateConfig, toServerTarget } from './config-loader.js';
import { HandlerRegistry, type Handler } from './handlers.js';
import { createLogger } from './logger.js';
import { createHubMetrics, type HubMetrics } from './metrics.js';
import { MeetingHosts } from './meeting-hosts.js';
import { followedView, type ServerView } from './server-view.js';
import type { FleetView, ServerOwnership } from './ownership.js';
import { ClusterServers, fleetObserver } from './cluster-servers.js';
import { diffServers } from './server-diff.js';
import { FollowedServers } from './followed-servers.js';
import { SinkFanout, type EventTap } from './sink-fanout.js';
import { StoredModels, resolveStateDir, type Restored } from './stored-models.js';
import { CmsClient } from '../control/cms-client.js';
import { cdrRecordsFromConfig, type CdrHubSide, type CdrRecords } from './cdr-records.js';
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
  /**
   * Cluster mode (src/cluster): which configured servers this process follows is decided there;
   * the models it reconciles against come from there too (no state folder).
   */
  ownership?: ServerOwnership;
  /** Cluster mode: the servers other instances follow, for the API, SSE, meetings and dashboard. */
  fleet?: FleetView;
}

export type { ServerView };
export type { EventTap };

export class Hub {
  readonly logger: Logger;
  readonly metrics: HubMetrics;
  private readonly config: Config;
  private readonly handlers = new HandlerRegistry();
  /** The servers this process follows, and their REST clients. */
  private readonly followed: FollowedServers;
  private readonly fanout: SinkFanout;
  /** The servers' models joined into meetings (by callCorrelator), fed by every pipeline. */
  private readonly meetingModel: Meetings;
  private readonly meetingHosts: MeetingHosts;
  private source: ServerSource | undefined;
  /** Models kept across restarts (`stateDir`); undefined: in memory only. */
  private models: StoredModels | undefined;
  /** The CDR receiver (config `cdr`); undefined without one. */
  private cdr: CdrRecords | undefined;
  /** The first server list was applied: stored models of servers not in it can go. */
  private pruned = false;
  private sampler: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();
  /** Cluster mode: every configured server, and what the hub shows of those followed elsewhere. */
  private readonly cluster: ClusterServers | undefined;
  private started = false;
  private stopped = false;

  constructor(config: Config, private readonly options: HubOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? createLogger({ level: config.log?.level });
    this.fanout = new SinkFanout(this.logger);
    this.meetingHosts = new MeetingHosts({
      ask: (server, participantId) => {
        const client = this.cms(server);
        if (client === undefined) return Promise.reject(new Error(`${server} is not configured`));
        return client.hosts(participantId);
      },
      found: (participantId, server) => this.meetingModel.setHost(participantId, server),
      shared: (meetingId) => this.meetingModel.sharedParticipants(meetingId),
      log: this.logger,
    });
    this.meetingModel = new Meetings({
      onSharedParticipant: (id, servers) => this.meetingHosts.lookup(id, servers),
      onHostsInDoubt: (meetingId) => this.meetingHosts.recheck(meetingId),
    });
    this.metrics = createHubMetrics(
      {
        statuses: () => [...this.followed.pipelines.values()].map((rt) => rt.session.status()),
        queueDepths: () => new Map([...this.followed.pipelines].map(([name, rt]) => [name, rt.dispatcher.depth])),
        eventCounts: () => new Map([...this.followed.pipelines].map(([name, rt]) => [name, rt.eventCounts])),
        stateWrites: () => this.models?.writes ?? 0,
        meetings: () => this.meetingModel.counts(),
        health: () => this.followed.healthViews(),
      },
      options.registry,
    );
    options.ownership?.registerMetrics?.(this.metrics.registry);
    this.followed = new FollowedServers({
      config: this.config,
      handlers: this.handlers,
      metrics: this.metrics,
      fanout: this.fanout,
      meetings: this.meetingModel,
      logger: this.logger,
      sessionTimings: options.sessionTimings,
      models: () => this.models,
      cdr: () => this.cdr,
    });
    if (options.ownership) {
      this.cluster = new ClusterServers({ ownership: options.ownership, fleet: options.fleet, followed: this.followed, cdr: () => this.cdr, stopped: () => this.stopped });
    }
  }

  /** Registers a handler for one event type, or '*' for all; returns a function that removes it. */
  on<T extends CmsEventType>(type: T, handler: Handler<EventOfType<T>>): () => void;
  on(type: '*', handler: Handler): () => void;
  on(type: CmsEventType | '*', handler: Handler<never>): () => void {
    return this.handlers.on(type as '*', handler as Handler);
  }

  tap(listener: EventTap): () => void {
    this.fanout.taps.add(listener);
    return () => this.fanout.taps.delete(listener);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('hub already started');
    this.started = true;
    const baseDir = this.options.configFile ? dirname(resolve(this.options.configFile)) : process.cwd();
    this.fanout.setSinks(this.options.sinks ?? (await createSinks(this.config.sinks, { logger: this.logger, registry: this.metrics.registry, baseDir, fenced: this.options.ownership !== undefined })));
    // In cluster mode the published models are the durable state, not a folder.
    const stateDir = resolveStateDir(this.config, baseDir, this.options.configFile !== undefined);
    if (stateDir !== null && !this.options.ownership) this.models = await StoredModels.open(stateDir, this.logger);
    if (this.config.cdr) {
      // The listener is up before the servers start: a POST for a server not started yet gets 503 and is re-sent.
      this.cdr = await cdrRecordsFromConfig(this.config.cdr, { baseDir, stateDir, origin: this.options.configFile ?? 'config', clustered: this.options.ownership !== undefined }, { hub: this.cdrHubSide(), logger: this.logger, registry: this.metrics.registry });
      await this.cdr.start();
    }
    if (this.cluster) await this.options.ownership?.start(this.cluster.ownedServers());
    await this.options.fleet?.start(fleetObserver(this.followed, this.meetingModel, this.fanout));
    this.sampler = setInterval(() => {
      const now = Date.now();
      for (const rt of this.followed.pipelines.values()) rt.sample(now);
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
    // Bodies stored before the last stop go first, once their servers run.
    this.cdr?.startProcessing();
  }

  /** The CDR receiver's own address (http(s)://host:port), when `cdr` is configured. */
  get cdrListenUrl(): string | undefined {
    return this.cdr?.listenUrl;
  }

  /** Re-reads the server source now (SIGHUP). */
  reload(): void {
    this.source?.reload();
  }

  /** Applies a new server list as a diff; untouched servers are not interrupted. */
  applyServers(targets: ServerTarget[]): Promise<void> {
    const cluster = this.cluster;
    if (cluster) {
      // The configured list is kept whole; which of them run is the ownership's call.
      this.applying = this.applying.then(() => (this.stopped ? undefined : cluster.apply(targets)));
      return this.applying;
    }
    this.applying = this.applying.then(async () => {
      if (this.stopped) return;
      const diff = diffServers(new Map([...this.followed.pipelines].map(([name, rt]) => [name, rt.target])), targets);
      if (!diff.added.length && !diff.removed.length && !diff.changed.length) return;
      this.logger.info(
        { added: diff.added.map((t) => t.name), removed: diff.removed, changed: diff.changed.map((t) => t.name) },
        'server set changed',
      );
      await Promise.all([
        ...diff.removed.map(async (name) => {
          await this.followed.stop(name, 'removed from configuration', { endCalls: true });
          await this.models?.forget(name);
        }),
        ...diff.changed.map(async (target) => {
          const previous = this.followed.pipelines.get(target.name);
          await this.followed.stop(target.name, 'configuration changed');
          await this.followed.start(target, previous && { state: previous.state, journal: previous.journal, replay: [] });
        }),
      ]);
      // Every stored model is loaded before its server connects.
      const restored = await Promise.all(diff.added.map((target) => this.models?.restore(target.name)));
      await Promise.all(diff.added.map((target, i) => this.followed.start(target, restored[i])));
      if (!this.pruned) {
        this.pruned = true;
        // After every configured server's model joined the meetings: a retired one's end is not its meetings' end.
        await this.models?.retire(new Set(targets.map((t) => t.name)), (name, events) => this.retired(name, events));
      }
    });
    return this.applying;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.source?.stop();
    this.meetingHosts.stop();
    clearInterval(this.sampler);
    await this.applying;
    // No more records taken; those stored are processed while the pipelines still run (or next time).
    await this.cdr?.close();
    // Cluster mode: every server is handed over (flushed, final model published, lease released).
    await this.options.ownership?.stop();
    await this.options.fleet?.stop();
    await Promise.all([...this.followed.pipelines.keys()].map((name) => this.followed.stop(name, 'daemon stopping')));
    await Promise.all(this.fanout.sinks.map((sink) => sink.close()));
    // After the sinks flushed: the last models written claim nothing they did not deliver.
    await this.models?.close();
  }

  servers(): ServerView[] {
    const ownership = this.options.ownership;
    const followed = [...this.followed.pipelines.values()].map((rt) =>
      followedView(rt, this.followed.health(rt.target.name) ?? null, ownership?.instance, this.cdr?.registration(rt.target.name)),
    );
    if (!this.cluster) return followed;
    // Cluster mode: the servers another instance follows (or none yet) are listed too.
    return [...followed, ...this.cluster.standbyViews()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The REST client of a configured server, to act on its calls; undefined for an unknown name.
   * In cluster mode also for servers another instance follows: any instance may act on any
   * server (the change reaches the model through its owner's feed).
   */
  cms(server: string): CmsClient | undefined {
    const context = this.followed.context(server);
    if (context !== undefined) return context.cms;
    const target = this.cluster?.configured.get(server);
    if (target === undefined) return undefined;
    let client = this.followed.clients.get(server);
    if (client === undefined) this.followed.clients.set(server, (client = new CmsClient({ target })));
    return client;
  }

  calls(server: string): CallView[] | undefined {
    const local = this.followed.pipelines.get(server)?.session.calls();
    if (local !== undefined || !this.cluster?.configured.has(server)) return local;
    // Cluster mode, a server another instance follows: as its owner published it.
    return this.cluster.calls(server);
  }

  /** The meetings across bridges: each callCorrelator once, with its calls and deduplicated participants. */
  meetings(): MeetingView[] {
    return this.meetingModel.list();
  }

  meeting(id: string): MeetingView | undefined {
    return this.meetingModel.get(id);
  }

  /**
   * The bridge known to host a participant several bridges list (the REST API said so), where
   * changes to them must be made; undefined when not known.
   */
  participantHost(participantId: string): string | undefined {
    return this.meetingModel.knownHost(participantId);
  }

  sinkStatuses(): SinkStatus[] {
    return this.fanout.sinks.map((sink) => sink.status());
  }

  /** True when every server's feed is live; in cluster mode, every server this instance follows is live and every server has an owner. */
  ready(): boolean {
    for (const rt of this.followed.pipelines.values()) if (rt.session.status().state !== 'live') return false;
    return this.cluster?.settled() ?? true;
  }

  /** What the CDR receiver may know of the servers. */
  private cdrHubSide(): CdrHubSide {
    return {
      knows: (server) => (this.cluster ? this.cluster.configured.has(server) : this.followed.pipelines.has(server)),
      client: (server) => this.cms(server),
      followed: (server) => {
        const pipeline = this.followed.pipelines.get(server);
        if (pipeline === undefined || (pipeline.mayAct !== undefined && !pipeline.mayAct())) return undefined;
        return { state: pipeline.state, announce: (events) => pipeline.announce(events) };
      },
    };
  }

  /**
   * A stored model of a server removed from the configuration while the daemon was down: its
   * journal's events go out again, then every call it had ends (synthetic), as for a server
   * removed while running. To the sinks only: it has no handlers' context any more.
   */
  private async retired(name: string, restored: Restored): Promise<void> {
    const events: CmsEvent[] = [...restored.replay];
    if (restored.state !== undefined) {
      this.meetingModel.restore(name, restored.state.stored());
      events.push(...this.meetingModel.apply(name, restored.state.endAll(SERVER_REMOVED_REASON)));
    }
    if (events.length > 0) await this.fanout.write(events, undefined);
  }
}

/** Creates a hub from a config object (validated here) or an already validated config. */
export function createHub(config: ConfigInput | Config, options: HubOptions = {}): Hub {
  const validated = validateConfig(config, options.configFile ?? 'config');
  return new Hub(validated, options);
}
