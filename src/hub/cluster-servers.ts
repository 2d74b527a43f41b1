// Cluster mode's side of the hub (README.md, "Cluster mode"): every instance keeps the whole
// configured server list, while which of them it follows is the ownership layer's call. The
// servers other instances follow are shown, and their calls listed, as their owners published
// them; their events reach this instance's meetings and taps through the fleet view.
import type { ServerTarget } from '../session/types.js';
import type { CallView } from '../state/events.js';
import type { Meetings } from '../state/meetings.js';
import type { CdrRecords } from './cdr-records.js';
import type { FollowedServers } from './followed-servers.js';
import type { FleetObserver, FleetView, FollowedServer, OwnedServers, ServerOwnership } from './ownership.js';
import { diffServers } from './server-diff.js';
import { standbyView, type ServerView } from './server-view.js';
import type { SinkFanout } from './sink-fanout.js';

export interface ClusterServersParts {
  ownership: ServerOwnership;
  fleet: FleetView | undefined;
  followed: FollowedServers;
  cdr: () => CdrRecords | undefined;
  /** The hub stops: no server is taken on any more. */
  stopped: () => boolean;
}

export class ClusterServers {
  /** Every configured server, whether this process follows it or not. */
  readonly configured = new Map<string, ServerTarget>();
  readonly #parts: ClusterServersParts;

  constructor(parts: ClusterServersParts) {
    this.#parts = parts;
  }

  /** A new configured list is kept whole; the servers followed here that it changed or dropped are restarted or ended here. */
  async apply(targets: ServerTarget[]): Promise<void> {
    const { followed, ownership } = this.#parts;
    const diff = diffServers(this.configured, targets);
    this.configured.clear();
    for (const target of targets) this.configured.set(target.name, target);
    await Promise.all([
      // A server this instance follows that left the list: its calls end here (it still holds the lease).
      ...diff.removed.filter((name) => followed.pipelines.has(name)).map((name) => followed.stop(name, 'removed from configuration', { endCalls: true })),
      ...diff.changed
        .filter((target) => followed.pipelines.has(target.name))
        .map(async (target) => {
          const previous = followed.pipelines.get(target.name)!;
          await followed.stop(target.name, 'configuration changed');
          await followed.start(target, { state: previous.state, journal: previous.journal, replay: [], ...(previous.fence && { fence: previous.fence }) }, previous.mayAct);
        }),
    ]);
    this.#parts.cdr()?.setConfigured(targets.map((t) => t.name));
    ownership.setServers(targets.map((t) => t.name));
  }

  /** The servers another instance follows (or none yet). */
  standbyViews(): ServerView[] {
    const { followed, ownership, fleet } = this.#parts;
    return [...this.configured.values()]
      .filter((target) => !followed.pipelines.has(target.name))
      .map((target) => standbyView(target, ownership.ownerOf(target.name), fleet?.calls(target.name)?.length ?? 0, this.#parts.cdr()?.registers === true));
  }

  /** Every server has an owner, and those held here are followed already (a takeover is not under way). */
  settled(): boolean {
    const { followed, ownership } = this.#parts;
    for (const name of this.configured.keys()) {
      const owner = ownership.ownerOf(name);
      if (owner === null) return false;
      if (owner === ownership.instance && !followed.pipelines.has(name)) return false;
    }
    return true;
  }

  /** A server another instance follows: its calls as its owner published them. */
  calls(server: string): CallView[] {
    return this.#parts.fleet?.calls(server) ?? [];
  }

  /** What the ownership layer may do with this hub's servers. */
  ownedServers(): OwnedServers {
    const { followed } = this.#parts;
    return {
      follow: async (name, start, mayAct) => {
        const target = this.configured.get(name);
        if (target === undefined || this.#parts.stopped()) return undefined;
        await followed.stop(name, 'taken over again');
        await followed.start(target, start, mayAct);
        const pipeline = followed.pipelines.get(name)!;
        const server: FollowedServer = { name, get state() { return pipeline.state; }, settled: () => pipeline.settled() };
        return server;
      },
      unfollow: (name, reason) => followed.stop(name, reason),
      retire: (name) => followed.stop(name, 'removed from configuration', { endCalls: true }),
      settled: async (name) => {
        const pipeline = followed.pipelines.get(name);
        if (pipeline) await pipeline.drained();
      },
    };
  }
}

/** What the fleet view tells a hub of the servers other instances follow. */
export function fleetObserver(followed: FollowedServers, meetings: Meetings, fanout: SinkFanout): FleetObserver {
  return {
    loaded: (server, calls) => {
      if (!followed.pipelines.has(server)) meetings.restore(server, calls);
    },
    observe: (server, events, live) => {
      if (followed.pipelines.has(server)) return; // followed here: the local pipeline says it
      const out = meetings.apply(server, events);
      if (live) fanout.tapOnly(out);
    },
  };
}
