// Cluster mode as the hub sees it: another part (src/cluster) decides which of the configured
// servers this process follows, and when it must stop. The hub hands it the server list and
// follows or stops each server as told; every ack and every hand-out to the sinks first asks
// the server's guard. Without an ownership, the hub follows every configured server itself.
import type { Registry } from 'prom-client';
import type { CallView, CmsEvent } from '../state/events.js';
import type { StoredCall } from '../state/stored-model.js';
import type { ServerState } from '../state/server-state.js';
import type { ModelSource } from './model-writer.js';
import type { EventJournal } from './server-pipeline.js';

/** What a server starts from: the model to reconcile against, events to hand out again first, where to journal. */
export interface ServerStart {
  state?: ServerState;
  replay?: CmsEvent[];
  journal?: EventJournal;
  /** Cluster mode: every event of the server is stamped with the lease's epoch and this instance's name. */
  fence?: { epoch: number; owner: string };
}

/** A server this process follows, as the ownership layer keeps its model. */
export interface FollowedServer extends ModelSource {
  readonly name: string;
}

/** What the hub lets the ownership layer do. */
export interface OwnedServers {
  /**
   * Follows a configured server from `start`; `mayAct` is asked before every ack and hand-out.
   * Undefined when `name` is not configured (any more).
   */
  follow(name: string, start: ServerStart, mayAct: () => boolean): Promise<FollowedServer | undefined>;
  /** Stops following `name`; one server.disconnected says why. */
  unfollow(name: string, reason: string): Promise<void>;
  /**
   * The server left the configuration: its calls end (synthetic, so every join gets its leave)
   * while this process may still act for it, then it is stopped.
   */
  retire(name: string): Promise<void>;
  /** Waits until everything `name` applied was handed to the sinks (a graceful handover). */
  settled(name: string): Promise<void>;
}

export interface ServerOwnership {
  start(servers: OwnedServers): Promise<void>;
  /** The configured servers, whenever the list changes (every instance has the same list). */
  setServers(names: readonly string[]): void;
  /** Hands every server over (graceful stop); resolves when they are released. */
  stop(): Promise<void>;
  /** The instance following `server`, or null when none does; undefined when not known. */
  ownerOf(server: string): string | null;
  /** This instance's name. */
  readonly instance: string;
  /** Adds its figures (servers owned, renewals, takeovers) to the hub's /metrics. */
  registerMetrics?(registry: Registry): void;
}

/** What the fleet view tells the hub about servers this process does not follow. */
export interface FleetObserver {
  /** A server's published model was loaded: the view of it starts from these calls. */
  loaded(server: string, calls: StoredCall[]): void;
  /** A server's events, in order; `live`: as they happen (not history read while catching up). */
  observe(server: string, events: CmsEvent[], live: boolean): void;
}

/** Cluster mode: every server of the fleet, from the models and events their owners publish. */
export interface FleetView {
  start(observer: FleetObserver): Promise<void>;
  stop(): Promise<void>;
  /** The calls of a server as its owner last published them (undefined: nothing known). */
  calls(server: string): CallView[] | undefined;
}
