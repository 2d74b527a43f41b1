// Who should try to follow which server (README.md, "Running several instances"). Rendezvous
// (highest random weight) hashing over the live instances: each server prefers the instance
// with the highest hash of (server, instance), so an instance joining or leaving moves only its
// share of the servers. This only decides who *tries*: the lease's compare-and-set in NATS
// decides who owns, so instances whose views of the membership differ for a moment never both
// own a server.
//
// Pure: the coordinator feeds it what it saw (members, leases, what it owns) and its clock, and
// acts on the answer.
import { createHash } from 'node:crypto';

/** The instance a server prefers among `members` (undefined when there are none). */
export function preferredOwner(server: string, members: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const member of members) {
    const score = createHash('sha256').update(server).update('\u0000').update(member).digest().readBigUInt64BE(0);
    if (score > bestScore || (score === bestScore && best !== undefined && member < best)) {
      best = member;
      bestScore = score;
    }
  }
  return best;
}

/** What this instance knows of one server's lease. */
export type LeaseView =
  /** Someone holds it; `seenAt` is when its last renewal was seen here. */
  | { held: true; owner: string; seenAt: number }
  /** Nobody holds it (released, expired, or never taken) since `since` (when that was first seen here). */
  | { held: false; since: number };

export interface PlacementInput {
  me: string;
  now: number;
  leaseMs: number;
  /** When this instance started watching: before a lease period has passed, it only takes orphans. */
  startedAt: number;
  /** The configured servers. */
  servers: readonly string[];
  /** Live instances (this one included) and since when each has been seen live. */
  members: ReadonlyMap<string, { since: number }>;
  leases: ReadonlyMap<string, LeaseView>;
  /** Servers this instance holds. */
  owned: ReadonlySet<string>;
  /** When this instance last gave a server away to rebalance. */
  lastMoveAt: number;
}

export interface PlacementTimings {
  /** A held lease not seen renewed for this long past its length counts as expired. */
  expiryGraceMs: number;
  /** An unowned server another instance prefers is taken by anyone after this long. */
  orphanFallbackMs: number;
  /** An instance must have been live this long before servers are moved to it. */
  stableMs: number;
  /** At most one server given away per this long. */
  moveIntervalMs: number;
}

export const DEFAULT_PLACEMENT_TIMINGS: PlacementTimings = {
  expiryGraceMs: 500,
  orphanFallbackMs: 2_000,
  stableMs: 15_000,
  moveIntervalMs: 2_000,
};

export interface PlacementDecision {
  /** Servers to try to take (their lease is free, or expired by what this instance saw). */
  acquire: string[];
  /** A server to give away to the instance it prefers (at most one per move interval). */
  release: string[];
}

/**
 * The rules: a free server is tried by the instance it prefers; after `orphanFallbackMs` by any
 * instance below its fair share; after two lease periods by anyone (a server is never left
 * unfollowed for long because the instances think themselves full). Moves to rebalance are
 * sticky and slow: only to an instance live for `stableMs`, one per `moveIntervalMs`. They never
 * delay taking over a server whose owner is gone.
 */
export function placeServers(input: PlacementInput, timings: PlacementTimings = DEFAULT_PLACEMENT_TIMINGS): PlacementDecision {
  const { me, now, leaseMs, servers, members, leases, owned } = input;
  const live = new Set(members.keys());
  live.add(me);
  const fairShare = Math.ceil(servers.length / live.size) + 1;
  const warmingUp = now - input.startedAt < leaseMs;
  const acquire: string[] = [];
  const release: string[] = [];
  let load = owned.size;
  for (const server of servers) {
    if (owned.has(server)) continue;
    const seen = leases.get(server);
    const lease = seen ?? { held: false as const, since: input.startedAt };
    let freeFor: number;
    if (lease.held) {
      const expiredAt = lease.seenAt + leaseMs + timings.expiryGraceMs;
      if (now < expiredAt) continue;
      freeFor = now - expiredAt;
    } else freeFor = now - lease.since;
    let preferred = preferredOwner(server, live);
    // A released server (a graceful handover) goes at once to the instance that prefers it among
    // those that may take it now. An instance live (as seen here) for less than a lease is most
    // likely still warming up, when it takes only orphans: deferring to it would leave the
    // server unfollowed for orphanFallbackMs, which is what a rolling restart did when it stopped
    // the next instance while the one restarted before it was still warming up. Only for a
    // released lease: after an outage everyone looks young to everyone, and expired leases keep
    // the plain rule there (balanced, not a race for every server).
    if (seen !== undefined && !lease.held && preferred !== undefined && preferred !== me && now - (members.get(preferred)?.since ?? now) < leaseMs) {
      preferred = preferredOwner(server, [...live].filter((m) => (m === me ? !warmingUp : now - (members.get(m)?.since ?? now) >= leaseMs)));
    }
    const orphaned = freeFor >= 2 * leaseMs;
    const mine = preferred === me && !warmingUp;
    // A key never seen (a cold start) gives the instance it prefers a lease to come out of its
    // own warm-up first: instances that start together then each take their share.
    const fallbackAfter = seen === undefined ? leaseMs + timings.orphanFallbackMs : timings.orphanFallbackMs;
    const fallback = freeFor >= fallbackAfter && load < fairShare && !warmingUp;
    if (mine || fallback || orphaned) {
      acquire.push(server);
      load++;
    }
  }
  if (now - input.lastMoveAt >= timings.moveIntervalMs) {
    for (const server of servers) {
      if (!owned.has(server)) continue;
      const preferred = preferredOwner(server, live);
      if (preferred === undefined || preferred === me) continue;
      const since = members.get(preferred)?.since;
      if (since === undefined || now - since < timings.stableMs) continue;
      release.push(server);
      break;
    }
  }
  return { acquire, release };
}
