// Cluster mode's faults, from outside (test/helpers/cluster.ts: a real `nats-server -js`, three
// daemons with leaseSeconds 3, a dozen simulated servers over TLS with some traffic):
//   1. the busiest instance paused (SIGSTOP) past its lease, then woken: its servers are taken
//      over meanwhile, and once awake it prints nothing for them but a leaseLost disconnect,
//      never acks on its old sockets, closes them, and rejoins;
//   2. a rolling restart (SIGTERM, start again, next): nothing announced twice, nothing lost,
//      each handover quick (the lease is released at once, not left to expire);
//   3. NATS down for two leases: every instance stops following within about a lease, and
//      afterwards every server is owned and followed again;
//   4. every instance stopped at once, the meetings going on, then all started again: the
//      published models are the durable state, so what changed is announced once, nothing twice.
// Each ends the same way: every simulated server with exactly one connection, the union of all
// stdouts folded per participant and per call with every join once and matched by exactly one
// leave (repeats only for what a paused instance printed just before its pause), no violation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeServers, preferredOwner, type LeaseView } from '../src/cluster/placement.js';
import type { CmsEvent } from '../src/state/events.js';
import { ClusterRig, LEASE_MS, type Instance } from './helpers/cluster.js';
import { getJson } from './helpers/daemon.js';
import { requirePrograms } from './helpers/requirements.js';
import { sleep, waitFor } from './helpers/wait.js';

const needs = requirePrograms('nats-server');
const SERVERS = 12;
const INSTANCES = ['i1', 'i2', 'i3'];
const TRAFFIC = { rate: 2, maxCalls: 2 };

async function readyz(instance: Instance): Promise<number | undefined> {
  try {
    return (await getJson(`${instance.api}/readyz`)).status;
  } catch {
    return undefined;
  }
}

/** Waits until every running instance answers /readyz with `status`. */
async function waitReady(rig: ClusterRig, status: 200 | 503, timeoutMs: number): Promise<void> {
  await waitFor(async () => {
    for (const instance of rig.instances) if ((await readyz(instance)) !== status) return false;
    return true;
  }, `/readyz ${status} on every instance`, timeoutMs, 50);
}

/** GET /api/servers on every instance: every server listed with its owner; standby exactly for those another instance follows. */
async function checkServerLists(rig: ClusterRig, placed: Map<string, string>): Promise<void> {
  for (const instance of rig.instances) {
    const seen = (await rig.serversSeenBy(instance))!;
    assert.equal(seen.length, SERVERS, `${instance.name} lists every server`);
    for (const entry of seen) {
      assert.equal(entry.owner, placed.get(entry.name), `${instance.name}: owner of ${entry.name}`);
      if (entry.owner === instance.name) assert.notEqual(entry.state, 'standby', `${instance.name} follows ${entry.name} itself`);
      else assert.equal(entry.state, 'standby', `${instance.name}: ${entry.name} is followed by ${entry.owner}: standby here`);
    }
  }
}

const serverOf = (event: CmsEvent): string => event.server;

describe('placement: a released server and a warming-up instance', () => {
  it('goes at once to the preferred of the instances that may take it, not after orphanFallbackMs', () => {
    const now = 1_000_000;
    const members = new Map([
      ['a', { since: 0 }],
      ['b', { since: 0 }],
      ['young', { since: now - 1_000 }],
    ]);
    const pool = Array.from({ length: 60 }, (_, i) => `srv-${i}`);
    const forYoung = pool.filter((s) => preferredOwner(s, members.keys()) === 'young');
    const input = (me: string, server: string, lease: LeaseView) =>
      placeServers({ me, now, leaseMs: 3_000, startedAt: 0, servers: [server], members, leases: new Map([[server, lease]]), owned: new Set(), lastMoveAt: 0 });
    for (const server of forYoung.slice(0, 5)) {
      const heir = preferredOwner(server, ['a', 'b'])!;
      const other = heir === 'a' ? 'b' : 'a';
      assert.deepEqual(input(heir, server, { held: false, since: now - 100 }).acquire, [server], `${server}: released, taken by ${heir} at once`);
      assert.deepEqual(input(other, server, { held: false, since: now - 100 }).acquire, [], `${server}: not by the other`);
      // An expired lease keeps the plain rule: the young instance's chance first.
      assert.deepEqual(input(heir, server, { held: true, owner: 'x', seenAt: now - 4_000 }).acquire, [], `${server}: expired, left to the preferred`);
    }
  });
});

describe('cluster mode: faults (three instances, twelve servers, lease 3 s)', { skip: needs.skip, timeout: 400_000 }, () => {
  it('an instance paused past its lease: taken over; once awake it neither acks nor announces for its lost servers, and rejoins', async (t) => {
    const rig = await ClusterRig.start({ servers: SERVERS, instances: INSTANCES, ...TRAFFIC });
    try {
      const placed = await rig.waitAllOwned('every server owned');
      await rig.waitOneConnectionEach();
      await waitReady(rig, 200, 30_000);
      await checkServerLists(rig, placed);
      t.diagnostic(`placement: ${rig.share(placed).join('/')} servers on ${INSTANCES.join('/')}`);
      await sleep(3_000);

      const counts = rig.share(placed);
      const victim = rig.instances[counts.indexOf(Math.max(...counts))]!;
      const lost = [...placed].filter(([, owner]) => owner === victim.name).map(([name]) => name);
      const simOf = (server: string) => rig.sims[Number(server.slice('cms-'.length)) - 1]!;
      // The victim's socket on each of its servers, as the simulator numbers it.
      const oldIds = new Map(lost.map((server) => [server, simOf(server).connectionFigures().find((c) => c.closedAt === null)!.id]));

      const pausedAt = Date.now();
      rig.killedAt[victim.run] = pausedAt;
      victim.daemon.child.kill('SIGSTOP');
      const survivors = rig.instances.filter((i) => i !== victim);
      const taken = await waitFor(async () => {
        const map = await rig.owners(survivors[0]!);
        return map && [...map.values()].every((o) => o !== victim.name) ? map : undefined;
      }, `the servers of ${victim.name} taken over during its pause`, 5 * LEASE_MS);
      const takenAfter = Date.now() - pausedAt;
      // The new owners' connections (the paused one's old socket is still open at the simulator).
      await waitFor(() => lost.every((server) => simOf(server).connectionFigures().some((c) => c.closedAt === null && c.id > oldIds.get(server)!)), 'the new owners connected', 15_000);
      const newOpenedAt = new Map(lost.map((server) => [server, simOf(server).connectionFigures().find((c) => c.closedAt === null && c.id > oldIds.get(server)!)!.openedAt]));
      t.diagnostic(`${victim.name} (${lost.join(', ')}) paused; taken over after ${takenAfter} ms by ${rig.share(taken, survivors.map((i) => i.name)).join('/')} (${survivors.map((i) => i.name).join('/')})`);
      assert.ok(takenAfter <= 3 * LEASE_MS, `taken over within a few leases (${takenAfter} ms)`);

      await sleep(Math.max(0, pausedAt + 2.5 * LEASE_MS - Date.now()));
      const resumedAt = Date.now();
      victim.daemon.child.kill('SIGCONT');

      // Its old sockets close within a few seconds, and none of them was acked after the takeover.
      await waitFor(() => lost.every((server) => simOf(server).connectionFigures().find((c) => c.id === oldIds.get(server))?.closedAt != null), 'the woken instance closes its old sockets', 10_000);
      let slowestClose = 0;
      for (const server of lost) {
        const old = simOf(server).connectionFigures().find((c) => c.id === oldIds.get(server))!;
        slowestClose = Math.max(slowestClose, old.closedAt! - resumedAt);
        assert.ok(old.lastAckAt === null || old.lastAckAt < newOpenedAt.get(server)!, `${server}: the old socket got no ack after the new owner connected (last ack ${old.lastAckAt! - pausedAt} ms after the pause)`);
        assert.ok(old.lastAckAt === null || old.lastAckAt < resumedAt, `${server}: no ack on the old socket after the resume`);
      }
      t.diagnostic(`woken after ${resumedAt - pausedAt} ms; its old sockets closed at most ${slowestClose} ms after the resume`);
      assert.ok(slowestClose <= 5_000, `old sockets closed within a few seconds of the resume (${slowestClose} ms)`);

      // It rejoins: sees every server owned, and in time takes some again (a rebalance hands them over).
      await waitFor(() => rig.owners(victim), `${victim.name} sees every server owned again`, 15_000);
      const retaken = await waitFor(async () => {
        const map = await rig.owners(victim);
        return map && [...map.values()].includes(victim.name) ? map : undefined;
      }, `${victim.name} follows a server again`, 45_000);
      t.diagnostic(`${victim.name} follows servers again ${Date.now() - resumedAt} ms after its resume; placement ${rig.share(retaken).join('/')}`);

      // What the woken instance announced for the servers it lost, after its resume and before it
      // followed that server again: a leaseLost disconnect at most. Told by when the event was made
      // (its ts), not when its line was read: a line made just before the pause may still wait in
      // the instance's stdout buffer (up to a millisecond) and be written once it is woken.
      let disconnects = 0;
      for (const server of lost) {
        const after = rig.records.filter((r) => r.run === victim.run && Date.parse(r.event.ts) >= resumedAt && serverOf(r.event) === server);
        const rejoined = after.findIndex((r) => r.event.type === 'server.connected');
        const meanwhile = after.slice(0, rejoined < 0 ? after.length : rejoined).map((r) => r.event);
        const wrong = meanwhile.filter((e) => !(e.type === 'server.disconnected' && e.reason === 'leaseLost'));
        assert.deepEqual(wrong, [], `${server}: ${victim.name} printed nothing but a leaseLost disconnect after its resume`);
        disconnects += meanwhile.length;
      }
      t.diagnostic(`after its resume ${victim.name} printed ${disconnects} leaseLost disconnects for its ${lost.length} lost servers, nothing else`);

      await rig.waitAllOwned('every server owned at the end');
      await waitReady(rig, 200, 30_000);
      await checkServerLists(rig, (await rig.waitAllOwned('the final placement'))!);
      await rig.finish(t);
    } finally {
      rig.stopTraffic();
    }
  });

  it('a rolling restart: each instance stopped and started again in turn; nothing announced twice, nothing lost, quick handovers', async (t) => {
    const rig = await ClusterRig.start({ servers: SERVERS, instances: INSTANCES, ...TRAFFIC });
    try {
      let placed = await rig.waitAllOwned('every server owned');
      await rig.waitOneConnectionEach();
      await waitReady(rig, 200, 30_000);
      t.diagnostic(`placement at start: ${rig.share(placed).join('/')} servers on ${INSTANCES.join('/')}`);
      // Every instance with servers to hand over (rebalancing moves them after 15 s of stability).
      placed = await waitFor(async () => {
        const map = await rig.owners(rig.instance('i1'));
        return map && rig.share(map).every((n) => n >= 2) ? map : undefined;
      }, 'every instance following some servers', 90_000, 200);
      await rig.waitOneConnectionEach();
      t.diagnostic(`placement before the restarts: ${rig.share(placed).join('/')}`);
      const gaps: number[] = [];
      for (const [k, name] of INSTANCES.entries()) {
        const held = [...placed].filter(([, owner]) => owner === name).map(([server]) => server);
        // Watched from an instance that stays: how long each server has no owner.
        const watcher = rig.instance(INSTANCES[(k + 1) % INSTANCES.length]!);
        const unownedSince = new Map<string, number>();
        const longest = new Map<string, number>();
        let watching = true;
        const watch = (async () => {
          while (watching) {
            const seen = await rig.serversSeenBy(watcher);
            const now = Date.now();
            for (const entry of seen ?? []) {
              if (entry.owner === null) {
                if (!unownedSince.has(entry.name)) unownedSince.set(entry.name, now);
              } else if (unownedSince.has(entry.name)) {
                longest.set(entry.name, Math.max(longest.get(entry.name) ?? 0, now - unownedSince.get(entry.name)!));
                unownedSince.delete(entry.name);
              }
            }
            await sleep(50);
          }
        })();
        const stoppedAt = Date.now();
        const exit = await rig.stopInstance(name);
        assert.equal(exit.code, 0, `${name} stops cleanly`);
        const stopMs = Date.now() - stoppedAt;
        placed = await rig.waitAllOwned(`every server owned after ${name} stopped`, 30_000);
        assert.ok([...placed.values()].every((owner) => owner !== name), `none of the servers is still ${name}'s`);
        const ownedAfter = Date.now() - stoppedAt;
        watching = false;
        await watch;
        for (const [server, since] of unownedSince) longest.set(server, Math.max(longest.get(server) ?? 0, Date.now() - since));
        const gap = Math.max(0, ...longest.values());
        gaps.push(gap);
        t.diagnostic(`${name} (${held.length} servers) stopped in ${stopMs} ms; every server owned again ${ownedAfter} ms after SIGTERM; longest unowned ${gap} ms`);
        rig.restart(name);
        await rig.waitOneConnectionEach(`one connection per server after ${name}'s handover`);
        placed = await rig.waitAllOwned(`every server owned with ${name} back`, 30_000);
        await waitReady(rig, 200, 30_000);
        if (k === 0) await checkServerLists(rig, placed);
        await sleep(1_000);
      }
      const worst = Math.max(...gaps);
      t.diagnostic(`handover gaps (longest unowned per stop): ${gaps.join(', ')} ms`);
      assert.ok(worst < LEASE_MS / 2, `each graceful handover is well under a lease (${worst} ms)`);

      await rig.finish(t);
      // No kill -9 happened: no event id twice, and (checked by finish with killedAt all undefined) no repeated join or leave.
      assert.ok(rig.killedAt.every((at) => at === undefined));
      const ids = new Map<string, number>();
      for (const record of rig.records) ids.set(record.event.id, (ids.get(record.event.id) ?? 0) + 1);
      const twice = [...ids].filter(([, n]) => n > 1).map(([id]) => id);
      assert.deepEqual(twice, [], 'no event id announced twice across the instances');
    } finally {
      rig.stopTraffic();
    }
  });

  it('NATS down for two leases: every instance stops following within about a lease; afterwards every server is owned and followed again', async (t) => {
    const rig = await ClusterRig.start({ servers: SERVERS, instances: INSTANCES, ...TRAFFIC });
    try {
      const placed = await rig.waitAllOwned('every server owned');
      await rig.waitOneConnectionEach();
      await waitReady(rig, 200, 30_000);
      t.diagnostic(`placement: ${rig.share(placed).join('/')} servers on ${INSTANCES.join('/')}`);
      await sleep(3_000);

      const downAt = Date.now();
      await rig.stopNats();
      await waitFor(() => rig.connections().every((n) => n === 0), 'every simulated server without a connection', LEASE_MS + 3_000, 20);
      const droppedAfter = Date.now() - downAt;
      await waitReady(rig, 503, 10_000);
      const notReadyAfter = Date.now() - downAt;
      t.diagnostic(`NATS killed: every server unfollowed after ${droppedAfter} ms, /readyz 503 everywhere after ${notReadyAfter} ms`);
      assert.ok(droppedAfter <= LEASE_MS + 1_500, `every instance stops following within about a lease (${droppedAfter} ms)`);
      // Nobody follows anything while NATS is away.
      await sleep(Math.max(0, downAt + 2 * LEASE_MS - Date.now()));
      assert.deepEqual(rig.connections(), rig.sims.map(() => 0), 'no connection during the outage');

      const upAt = Date.now();
      await rig.startNats();
      const after = await rig.waitAllOwned('every server owned after NATS returned', 60_000);
      const ownedAfter = Date.now() - upAt;
      await rig.waitOneConnectionEach('one connection per server after NATS returned');
      const followedAfter = Date.now() - upAt;
      await waitReady(rig, 200, 30_000);
      t.diagnostic(`NATS back after ${upAt - downAt} ms: every server owned ${ownedAfter} ms later, followed ${followedAfter} ms later, ready ${Date.now() - upAt} ms later; placement ${rig.share(after).join('/')}`);

      await sleep(2_000);
      await rig.finish(t);
    } finally {
      rig.stopTraffic();
    }
  });

  it('every instance stopped at once while the meetings go on, then started again: what changed is announced once, nothing twice', async (t) => {
    const rig = await ClusterRig.start({ servers: SERVERS, instances: INSTANCES, ...TRAFFIC });
    try {
      await rig.waitAllOwned('every server owned');
      await rig.waitOneConnectionEach();
      await sleep(3_000);
      const exits = await Promise.all(INSTANCES.map((name) => rig.stopInstance(name)));
      assert.deepEqual(exits.map((e) => e.code), INSTANCES.map(() => 0), 'every instance stops cleanly');
      assert.deepEqual(rig.connections(), rig.sims.map(() => 0), 'nobody follows while every instance is down');
      // The meetings go on meanwhile: people join and leave with nobody watching.
      await sleep(2 * LEASE_MS);
      for (const name of INSTANCES) rig.restart(name);
      const placed = await rig.waitAllOwned('every server owned after the restart', 60_000);
      await rig.waitOneConnectionEach('one connection per server after the restart');
      t.diagnostic(`placement after the restart: ${rig.share(placed).join('/')}`);
      await sleep(2_000);
      await rig.finish(t);
      // No kill -9: the published models are the durable state, so no event id twice and no repeated join or leave.
      const ids = new Map<string, number>();
      for (const record of rig.records) ids.set(record.event.id, (ids.get(record.event.id) ?? 0) + 1);
      assert.deepEqual([...ids].filter(([, n]) => n > 1).map(([id]) => id), [], 'no event id announced twice');
      assert.ok(rig.records.some((r) => r.event.synthetic), 'what changed while every instance was down is announced (synthetic)');
    } finally {
      rig.stopTraffic();
    }
  });
});
