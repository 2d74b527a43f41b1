// Cluster mode from outside: a real `nats-server -js`, three daemons (bin/cms-events run) with
// the same six simulated servers over TLS, each instance's stdout collected (test/helpers/
// cluster.ts). Every server must end up followed by exactly one instance (one connection per
// simulated server); when the instance following the most servers is killed -9, the others take
// its servers over within a few lease periods; the union of all stdouts, folded per participant
// and per call, has every join once and every join matched by its leave (a repeat allowed only
// for what the killed one printed in its last write interval).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterRig, LEASE_SECONDS } from './helpers/cluster.js';
import { requirePrograms } from './helpers/requirements.js';
import { sleep, waitFor } from './helpers/wait.js';

const needs = requirePrograms('nats-server');

describe('cluster mode: three instances, six servers', { skip: needs.skip, timeout: 180_000 }, () => {
  it('each server followed by exactly one instance; kill -9 of the busiest: taken over, every join once and matched by its leave', async (t) => {
    const rig = await ClusterRig.start({ servers: 6, instances: ['i1', 'i2', 'i3'], rate: 8, maxCalls: 2 });
    const instances = rig.instances;
    try {
      // Every server owned, each by one instance, and each simulated server with one connection.
      let placed = await waitFor(() => rig.owners(instances[0]!), 'every server owned', 60_000);
      await rig.waitOneConnectionEach();
      t.diagnostic(`placement: ${rig.share(placed).join('/')} servers on i1/i2/i3`);
      for (const instance of instances.slice(1)) assert.deepEqual(await rig.owners(instance), placed, `${instance.name} sees the same owners`);

      // Let the meetings run a while, then kill -9 the instance with the most servers.
      await sleep(3_000);
      const counts = rig.share(placed);
      const victim = instances[counts.indexOf(Math.max(...counts))]!;
      const lost = [...placed].filter(([, owner]) => owner === victim.name).map(([name]) => name);
      rig.killedAt[victim.run] = Date.now();
      victim.daemon.child.kill('SIGKILL');
      await victim.daemon.exit;
      rig.current.delete(victim.name);
      const survivors = rig.instances;
      placed = await waitFor(async () => {
        const map = await rig.owners(survivors[0]!);
        return map && [...map.values()].every((o) => o !== victim.name) ? map : undefined;
      }, `the servers of ${victim.name} taken over`, 30_000);
      const takenAfter = Date.now() - rig.killedAt[victim.run]!;
      t.diagnostic(`${victim.name} (${lost.join(', ')}) killed; taken over after ${takenAfter} ms; placement now ${rig.share(placed, instances.map((i) => i.name)).join('/')}`);
      assert.ok(takenAfter <= 4 * LEASE_SECONDS * 1_000 + 5_000, `taken over within a few lease periods (${takenAfter} ms)`);
      await rig.waitOneConnectionEach('again one connection per server');

      // Let the new owners follow a while, then end everything and let it be announced.
      await sleep(2_000);
      await rig.finish(t);
    } finally {
      rig.stopTraffic();
    }
  });
});
