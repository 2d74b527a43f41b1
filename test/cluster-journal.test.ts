// Cluster mode: an event reaches the sinks only once NATS holds its journal line. NATS frozen
// (SIGSTOP) and then killed while a participant joins: the owner must not print the join while
// NATS has not confirmed it, since NATS loses the line and whoever takes the server over next
// announces the join from the CMS's state. Printed before, it came out twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CmsEvent } from '../src/state/events.js';
import { ClusterRig, LEASE_MS } from './helpers/cluster.js';
import { requirePrograms } from './helpers/requirements.js';
import { sleep, waitFor } from './helpers/wait.js';

const needs = requirePrograms('nats-server');

describe('cluster mode: the journal in NATS comes before the sinks', { skip: needs.skip, timeout: 120_000 }, () => {
  it('a join whose journal line NATS never confirmed is not printed; after NATS returns it is announced once', async (t) => {
    const rig = await ClusterRig.start({ servers: 1, instances: ['i1'], rate: 0, maxCalls: 0 });
    const joinsOf = (name: string): CmsEvent[] =>
      rig.records.map((r) => r.event).filter((e) => e.type === 'participant.joined' && 'participant' in e && e.participant.name === name);
    try {
      await rig.waitAllOwned('the server owned');
      await rig.waitOneConnectionEach();
      const world = rig.sims[0]!.world;
      const callId = world.createCall({ name: 'Across the outage' });
      world.addParticipant(callId, { name: 'Before', state: 'connected' });
      await waitFor(() => joinsOf('Before').length === 1, 'the first join printed', 15_000);

      rig.pauseNats();
      const pausedAt = Date.now();
      world.addParticipant(callId, { name: 'During', state: 'connected' });
      // Well inside the lease: without the wait for NATS the join was printed within milliseconds.
      await sleep(1_000);
      assert.deepEqual(joinsOf('During'), [], 'no join printed while NATS has not confirmed its journal line');

      await rig.stopNats();
      await waitFor(() => rig.connections()[0] === 0, 'the owner to give the server up', LEASE_MS + 5_000, 20);
      t.diagnostic(`the server was given up ${Date.now() - pausedAt} ms after NATS froze`);
      assert.deepEqual(joinsOf('During'), [], 'nor after NATS died');

      await rig.startNats();
      await rig.waitAllOwned('the server owned again after NATS returned');
      await rig.waitOneConnectionEach('followed again');
      await waitFor(() => joinsOf('During').length > 0, 'the join announced by the next owner', 30_000);
      await sleep(1_500);
      assert.equal(joinsOf('During').length, 1, 'the join is announced exactly once');
      assert.equal(joinsOf('Before').length, 1, 'the earlier join is not announced again');
      await rig.finish(t, { minJoins: 2 });
    } finally {
      rig.stopTraffic();
    }
  });
});
