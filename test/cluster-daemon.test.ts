// Cluster mode from outside: a real `nats-server -js`, three daemons (bin/cms-events run) with
// the same six simulated servers over TLS, each instance's stdout collected. Every server must
// end up followed by exactly one instance (one connection per simulated server); when the
// instance following the most servers is killed -9, the others take its servers over within a
// few lease periods; the union of all stdouts, folded per participant and per call, has every
// join once and every join matched by its leave (a repeat allowed only for what the killed one
// printed in its last write interval).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startTraffic, type SimulatedServer } from '../src/simulator/index.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { foldPresence, stamp, type Stamped } from './helpers/event-fold.js';
import { requirePrograms } from './helpers/requirements.js';
import { simulator } from './helpers/simulators.js';
import { startNats, type ServerProcess } from './helpers/sinks.js';
import { waitFor } from './helpers/wait.js';

const needs = requirePrograms('nats-server');
const LEASE_SECONDS = 3;
/** What a killed instance printed this long before its kill may be printed again by its successor. */
const REPEAT_WINDOW_MS = 1_500;

interface ServerEntry {
  name: string;
  state: string;
  owner: string | null;
}

interface Instance {
  name: string;
  daemon: Daemon;
  api: string;
}

const running: Daemon[] = [];
let nats: ServerProcess | undefined;
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
  await nats?.stop();
});

async function serversSeenBy(instance: Instance): Promise<ServerEntry[] | undefined> {
  try {
    return (await getJson<ServerEntry[]>(`${instance.api}/api/servers`)).body;
  } catch {
    return undefined;
  }
}

describe('cluster mode: three instances, six servers', { skip: needs.skip, timeout: 180_000 }, () => {
  it('each server followed by exactly one instance; kill -9 of the busiest: taken over, every join once and matched by its leave', async (t) => {
    const dir = tempDir('cms-events-cluster-');
    nats = await startNats(await freePort(), path.join(dir, 'nats'));
    const natsUrl = `nats://127.0.0.1:${nats.port}`;
    const sims: SimulatedServer[] = [];
    for (let i = 1; i <= 6; i++) sims.push(await simulator({ name: `cms-${i}` }));
    const traffic = sims.map((sim) => startTraffic(sim.world, { rate: 8, maxCalls: 2 }));
    const servers = sims.map((sim, i) => serverEntry(`cms-${i + 1}`, sim));
    const records: Stamped[] = [];
    const killedAt: Array<number | undefined> = [];
    const instances: Instance[] = [];
    for (const name of ['i1', 'i2', 'i3']) {
      const port = await freePort();
      const config = writeConfig(dir, { servers, http: { host: '127.0.0.1', port }, cluster: { nats: natsUrl, instance: name, leaseSeconds: LEASE_SECONDS } }, `${name}.json`);
      const daemon = startDaemon(['run', '--config', config]);
      running.push(daemon);
      stamp(daemon, instances.length, records);
      instances.push({ name, daemon, api: `http://127.0.0.1:${port}` });
      killedAt.push(undefined);
    }
    try {
      // Every server owned, each by one instance, and each simulated server with one connection.
      const owners = async (instance: Instance) => {
        const seen = await serversSeenBy(instance);
        return seen && seen.length === sims.length && seen.every((s) => s.owner !== null) ? new Map(seen.map((s) => [s.name, s.owner!])) : undefined;
      };
      let placed = await waitFor(() => owners(instances[0]!), 'every server owned', 60_000);
      await waitFor(() => sims.every((sim) => sim.stats().openConnections === 1), 'one connection per server', 30_000);
      const share = (map: Map<string, string>) => instances.map((i) => [...map.values()].filter((o) => o === i.name).length);
      t.diagnostic(`placement: ${share(placed).join('/')} servers on i1/i2/i3`);
      for (const instance of instances.slice(1)) assert.deepEqual(await owners(instance), placed, `${instance.name} sees the same owners`);

      // Let the meetings run a while, then kill -9 the instance with the most servers.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const counts = share(placed);
      const victim = counts.indexOf(Math.max(...counts));
      const lost = [...placed].filter(([, owner]) => owner === instances[victim]!.name).map(([name]) => name);
      killedAt[victim] = Date.now();
      instances[victim]!.daemon.child.kill('SIGKILL');
      const survivors = instances.filter((_, i) => i !== victim);
      placed = await waitFor(async () => {
        const map = await owners(survivors[0]!);
        return map && [...map.values()].every((o) => o !== instances[victim]!.name) ? map : undefined;
      }, `the servers of ${instances[victim]!.name} taken over`, 30_000);
      const takenAfter = Date.now() - killedAt[victim]!;
      t.diagnostic(`${instances[victim]!.name} (${lost.join(', ')}) killed; taken over after ${takenAfter} ms; placement now ${share(placed).join('/')}`);
      assert.ok(takenAfter <= 4 * LEASE_SECONDS * 1_000 + 5_000, `taken over within a few lease periods (${takenAfter} ms)`);
      await waitFor(() => sims.every((sim) => sim.stats().openConnections === 1), 'again one connection per server', 30_000);

      // Let the new owners follow a while, then end everything and let it be announced.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (const tr of traffic) tr.stop();
      for (const sim of sims) for (const call of sim.world.listCalls()) sim.world.endCall(call.id);
      await waitFor(async () => {
        for (const instance of survivors) {
          const seen = await serversSeenBy(instance);
          if (!seen) return false;
        }
        const open = foldPresence(records, { kind: 'call', killedAt, windowMs: REPEAT_WINDOW_MS, concurrent: true });
        return open.opens === open.closes;
      }, 'every call announced as ended', 30_000);
      for (const sim of sims) await sim.idle();
      for (const instance of survivors) assert.equal((await instance.daemon.stop()).code, 0);
      assert.deepEqual(sims.map((sim) => sim.stats().openConnections), [0, 0, 0, 0, 0, 0], 'graceful stops close every connection');

      const participants = foldPresence(records, { kind: 'participant', killedAt, windowMs: REPEAT_WINDOW_MS, concurrent: true });
      const calls = foldPresence(records, { kind: 'call', killedAt, windowMs: REPEAT_WINDOW_MS, concurrent: true });
      t.diagnostic(`participants: ${participants.opens} joins, ${participants.closes} leaves, repeated ${participants.repeatedOpens}/${participants.repeatedCloses}; calls: ${calls.opens} starts, ${calls.closes} ends; events ${records.length}`);
      for (const failure of [...participants.failures, ...calls.failures].slice(0, 20)) t.diagnostic(`FAIL ${failure}`);
      assert.ok(participants.opens > 10, 'busy enough to mean something');
      assert.deepEqual(participants.failures, [], 'every join once, matched by exactly one leave');
      assert.deepEqual(calls.failures, [], 'every call start once, matched by exactly one end');
      assert.deepEqual([...participants.lostCloses, ...calls.lostCloses], [], 'none lost');
      for (const sim of sims) assert.deepEqual(sim.violations(), [], `${sim.name}: no protocol violation`);
    } finally {
      for (const tr of traffic) tr.stop();
    }
  });
});
