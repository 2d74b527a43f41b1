// Cluster mode (README.md, "Running several instances"): this instance's share of the servers.
// Every half second it looks at the live instances and the leases (watched in NATS) and
// placement.ts says which free servers to try and which one to hand over; a server is followed
// only once its lease is taken, from the model its last owner published plus the journal after
// it (takeover.ts). Each lease is renewed every third of its length; at its local deadline the
// server is dropped at once (the guard already refuses every ack and hand-out by then). A
// graceful stop hands every server over: no more acks, the final model published, the lease
// released, so the next owner starts at once instead of waiting for the lease to expire.
import { hostname } from 'node:os';
import type { ConnectionOptions } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Histogram, Registry } from 'prom-client';
import { realClock, sleep, type Clock, type TimerHandle } from '../clock.js';
import type { ClusterConfig } from '../hub/config-schema.js';
import type { FollowedServer, OwnedServers, ServerOwnership } from '../hub/ownership.js';
import { openSharedObjects, type SharedObjects } from './buckets.js';
import { serverKey } from './keys.js';
import { Lease } from './lease.js';
import { LeaseKeeper } from './lease-keeper.js';
import { LeaseWatch } from './lease-watch.js';
import { clusterMetrics } from './metrics.js';
import { Membership } from './membership.js';
import { ModelPublisher } from './model-publisher.js';
import { connectNats, natsOptions } from './nats-connection.js';
import { placeServers } from './placement.js';
import { takeOver } from './takeover.js';

const TICK_MS = 500;
const RECONNECT_MS = 1_000;
/** How long a graceful handover waits for the server's last events to reach the sinks. */
const HANDOVER_DRAIN_MS = 5_000;

export interface ClusterOwnershipOptions {
  config: ClusterConfig;
  /** Where relative paths in the cluster section start (the config file's folder). */
  baseDir: string;
  /** The config file, for errors that name it. */
  origin: string;
  logger: Logger;
  /** Timers; default the real clock. */
  clock?: Clock;
  /** Monotonic milliseconds (leases and liveness); default performance.now. */
  now?: () => number;
}

interface Owned {
  lease: Lease;
  followed: FollowedServer | undefined;
  /** Renews the lease and drops the server at its deadline (armed once the server is taken). */
  keeper: LeaseKeeper | undefined;
  /** Being handed over: not dropped again, not re-taken. */
  releasing: boolean;
}

/** A name usable as a NATS key: the host name and process id by default. */
function defaultInstance(): string {
  return `${hostname()}-${process.pid}`.replace(/[^-_a-zA-Z0-9]/g, '_').slice(0, 64);
}

export class ClusterOwnership implements ServerOwnership {
  readonly instance: string;
  readonly #options: ConnectionOptions;
  readonly #configuredLeaseMs: number;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #now: () => number;
  #hub: OwnedServers | undefined;
  #nc: NatsConnection | undefined;
  #shared: SharedObjects | undefined;
  #membership: Membership | undefined;
  #leaseWatch: LeaseWatch | undefined;
  #publisher: ModelPublisher | undefined;
  #servers: readonly string[] = [];
  readonly #owned = new Map<string, Owned>();
  readonly #acquiring = new Set<string>();
  #startedAt = 0;
  #lastMoveAt = Number.NEGATIVE_INFINITY;
  #tick: TimerHandle | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;
  /** False while the NATS connection is down (see #mayAct). */
  #natsUp = true;
  /** Servers taken over since start (metrics). */
  takeovers = 0;
  #renewSeconds: Histogram<'outcome'> | undefined;

  /** Throws a ConfigError when a credential or TLS file of the cluster section cannot be read. */
  constructor(options: ClusterOwnershipOptions) {
    this.instance = options.config.instance ?? defaultInstance();
    this.#options = natsOptions(options.config, options.baseDir, options.origin, this.instance);
    this.#configuredLeaseMs = options.config.leaseSeconds * 1_000;
    this.#log = options.logger.child({ instance: this.instance });
    this.#clock = options.clock ?? realClock;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Resolves at once: NATS is reached in the background, for as long as it takes. */
  async start(servers: OwnedServers): Promise<void> {
    this.#hub = servers;
    this.#running = this.#join();
  }

  setServers(names: readonly string[]): void {
    const kept = new Set(names);
    for (const server of this.#owned.keys()) if (!kept.has(server)) void this.#retire(server);
    this.#servers = [...names];
  }

  ownerOf(server: string): string | null {
    if (this.#owned.has(server)) return this.instance;
    return this.#leaseWatch?.owner(server) ?? null;
  }

  registerMetrics(registry: Registry): void {
    this.#renewSeconds = clusterMetrics(registry, { owned: () => this.#owned.size, takeovers: () => this.takeovers });
  }

  /** The servers this instance follows now. */
  owned(): string[] {
    return [...this.#owned.keys()];
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clock.clearTimeout(this.#tick);
    await Promise.all([...this.#owned.keys()].map((server) => this.#release(server, 'daemon stopping')));
    await this.#publisher?.stop();
    await this.#membership?.stop().catch(() => undefined);
    this.#leaseWatch?.stop();
    await this.#nc?.drain().catch(() => undefined);
    await this.#running?.catch(() => undefined);
  }

  /** Connects (retrying for ever, said once), opens the shared objects, joins, starts placing. */
  async #join(): Promise<void> {
    let said = false;
    while (!this.#stopped && this.#shared === undefined) {
      try {
        this.#nc ??= await connectNats(this.#options);
        this.#shared = await openSharedObjects(this.#nc, this.#configuredLeaseMs, this.#log);
      } catch (error) {
        if (!said) this.#log.error({ error: (error as Error).message }, 'cannot reach NATS: no server is followed until it can be reached (retrying every second)');
        said = true;
        await sleep(this.#clock, RECONNECT_MS);
      }
    }
    const shared = this.#shared;
    if (shared === undefined || this.#nc === undefined) return;
    if (said) this.#log.info('NATS reached');
    this.#followConnection(this.#nc);
    const common = { nc: this.#nc, leaseMs: shared.leaseMs, logger: this.#log, clock: this.#clock, now: this.#now };
    this.#membership = new Membership({ ...common, kv: shared.members, instance: this.instance });
    this.#leaseWatch = new LeaseWatch({ ...common, kv: shared.leases });
    this.#publisher = new ModelPublisher(shared.models, this.instance, this.#log, (server) => void this.#lose(server, 'deposed'), this.#clock);
    await Promise.all([this.#membership.start(), this.#leaseWatch.start()]);
    this.#startedAt = this.#now();
    this.#log.info({ leaseMs: shared.leaseMs }, 'joined the cluster');
    this.#schedule();
  }

  /** Keeps #natsUp in step with the connection. */
  #followConnection(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') {
          if (this.#natsUp && this.#owned.size > 0) this.#log.warn('NATS connection lost: no acks and no events for the servers held here until it is back (or their leases end)');
          this.#natsUp = false;
        } else if (status.type === 'reconnect') this.#natsUp = true;
      }
    })();
  }

  /**
   * The guard of a server's acks and hand-outs: its lease, and a live NATS connection. Without
   * the connection the journal cannot be written, and what is handed out unjournaled is unknown
   * to the next owner, which announces it again (a NATS outage let an owner go on for the rest
   * of its lease, ~2 s, and its joins were announced twice). Acks refused tear the socket down;
   * if the connection returns while the lease holds, the session reconnects and reconciles.
   */
  #mayAct(lease: Lease): boolean {
    return this.#natsUp && lease.valid();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#tick = this.#clock.setTimeout(() => {
      this.#place();
      this.#schedule();
    }, TICK_MS);
  }

  #place(): void {
    const shared = this.#shared;
    if (shared === undefined || this.#membership === undefined || this.#leaseWatch === undefined) return;
    const now = this.#now();
    const decision = placeServers({
      me: this.instance,
      now,
      leaseMs: shared.leaseMs,
      startedAt: this.#startedAt,
      servers: this.#servers,
      members: this.#membership.members(),
      leases: this.#leaseWatch.view(),
      owned: new Set([...this.#owned.keys(), ...this.#acquiring]),
      lastMoveAt: this.#lastMoveAt,
    });
    for (const server of decision.acquire) void this.#acquire(server);
    for (const server of decision.release) {
      this.#lastMoveAt = now;
      void this.#release(server, 'handed over to rebalance');
    }
  }

  async #acquire(server: string): Promise<void> {
    const shared = this.#shared;
    const hub = this.#hub;
    if (shared === undefined || hub === undefined || this.#acquiring.has(server) || this.#owned.has(server)) return;
    this.#acquiring.add(server);
    const key = serverKey(server);
    try {
      const lease = await Lease.acquire(shared.leases, server, key, this.instance, shared.leaseMs, { now: this.#now });
      if (lease === undefined) return;
      if (this.#stopped || !this.#servers.includes(server)) {
        await lease.release().catch(() => undefined);
        return;
      }
      const owned: Owned = { lease, followed: undefined, keeper: undefined, releasing: false };
      this.#owned.set(server, owned);
      owned.keeper = new LeaseKeeper({
        lease,
        leaseMs: shared.leaseMs,
        clock: this.#clock,
        now: this.#now,
        onLost: () => {
          if (this.#owned.get(server) === owned) void this.#lose(server, 'leaseLost');
        },
        observe: (outcome, seconds) => this.#renewSeconds?.observe({ outcome }, seconds),
      });
      const takeover = await takeOver(shared, server, key, lease.epoch, this.#log);
      if (this.#owned.get(server) !== owned || !lease.valid()) return;
      const followed = await hub.follow(server, { ...takeover.start, fence: { epoch: lease.epoch, owner: this.instance } }, () => this.#mayAct(lease));
      if (followed === undefined) {
        await this.#release(server, 'not configured');
        return;
      }
      if (this.#owned.get(server) !== owned) {
        await hub.unfollow(server, 'leaseLost');
        return;
      }
      owned.followed = followed;
      // Events NATS did not take never reached a sink: the server is given up, and whoever takes
      // it next (this instance too) starts from what NATS holds and announces them once.
      takeover.journal.onRefused(() => {
        if (this.#owned.get(server) === owned) void this.#lose(server, 'journalRefused');
      });
      this.#publisher?.track(server, key, followed, takeover.journal, lease, takeover.modelRevision);
      this.takeovers++;
      this.#log.info({ server, epoch: lease.epoch }, 'following the server: its lease is held here');
    } catch (error) {
      this.#log.error({ server, error: (error as Error).message }, 'taking the server over failed; it is tried again');
      const owned = this.#owned.get(server);
      if (owned !== undefined) {
        await this.#lose(server, 'takeover failed');
        // Given back at once, so that this or another instance can try again without waiting for it to expire.
        await owned.lease.release().catch(() => undefined);
      }
    } finally {
      this.#acquiring.delete(server);
    }
  }

  /** The lease is gone (or was never proven, or the journal refused lines): stop at once; the next owner announces what follows. */
  async #lose(server: string, reason: string): Promise<void> {
    const owned = this.#owned.get(server);
    if (owned === undefined) return;
    this.#owned.delete(server);
    owned.keeper?.disarm();
    owned.lease.abandon();
    this.#publisher?.untrack(server);
    this.#log.warn({ server, reason }, 'stopped following the server: the next owner announces what follows');
    await this.#hub?.unfollow(server, 'leaseLost');
  }

  /** Graceful: no more acks, the last events to the sinks, the final model published, then the lease released. */
  async #release(server: string, reason: string): Promise<void> {
    const owned = this.#owned.get(server);
    if (owned === undefined || owned.releasing) return;
    owned.releasing = true;
    owned.keeper?.stopRenewing();
    try {
      await this.#hub?.unfollow(server, reason);
      if (owned.followed !== undefined) {
        const until = this.#now() + HANDOVER_DRAIN_MS;
        while (!owned.followed.settled() && this.#now() < until) await sleep(this.#clock, 10);
        await this.#publisher?.publishNow(server);
      }
    } finally {
      this.#publisher?.untrack(server);
      owned.keeper?.disarm();
      this.#owned.delete(server);
      await owned.lease.release().catch((error: unknown) => this.#log.warn({ server, error: (error as Error).message }, 'releasing the lease failed: it expires by itself'));
      this.#log.info({ server, reason }, 'server handed over');
    }
  }

  /** The server left the configuration: the hub ended its calls; its published model goes, then its lease. */
  async #retire(server: string): Promise<void> {
    const owned = this.#owned.get(server);
    if (owned === undefined) return;
    await this.#release(server, 'removed from configuration');
    await this.#publisher?.remove(serverKey(server));
  }
}
