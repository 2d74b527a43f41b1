// CDRs in cluster mode, from outside: two instances with `cdr.register: true`, a shared token, a
// real `nats-server -js`, two simulated servers with traffic posting their records. Each CMS
// lists one receiver of ours, the owner's; when the owner gets kill -9 the survivor takes the
// server over and changes that entry to its own URL in place (the CMS keeps its numbering and
// re-sends what it held back), and the de-duplication mark and the ids learnt travel in the
// published model: over every run of both instances each record is announced under exactly one
// event id, none missing, and every leg end carries its participant and call.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startTraffic, type SimulatedServer } from '../src/simulator/index.js';
import type { CdrRecordEvent, CmsEvent } from '../src/state/events.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { requirePrograms } from './helpers/requirements.js';
import { simulator } from './helpers/simulators.js';
import { startNats, type ServerProcess } from './helpers/sinks.js';
import { sleep, waitFor } from './helpers/wait.js';

const needs = requirePrograms('nats-server');
const TOKEN = 'cluster-cdr-token-0123456789';

const daemons: Daemon[] = [];
let nats: ServerProcess | undefined;
after(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await nats?.stop();
});

describe('CDRs in cluster mode', { skip: needs.skip }, () => {
  it('the owner\'s receiver registered once; after a kill -9 the survivor replaces it in place; every record once, with its ids', async () => {
    const dir = tempDir('cms-events-cdr-cluster-');
    const natsPort = await freePort();
    nats = await startNats(natsPort, path.join(dir, 'nats'));
    const sims: SimulatedServer[] = [];
    for (const name of ['cms-1', 'cms-2']) {
      const sim = await simulator({ name });
      sim.switches.cdrRetryMs = 200;
      sims.push(sim);
    }
    const servers = sims.map((sim) => serverEntry(sim.name, sim));
    const instances = new Map<string, { file: string; api: string; publicUrl: string }>();
    for (const name of ['i1', 'i2']) {
      const cdrPort = await freePort();
      const httpPort = await freePort();
      const publicUrl = `http://127.0.0.1:${cdrPort}`;
      const file = writeConfig(dir, {
        servers,
        http: { host: '127.0.0.1', port: httpPort },
        cluster: { nats: `nats://127.0.0.1:${natsPort}`, instance: name, leaseSeconds: 3 },
        cdr: { listen: { host: '127.0.0.1', port: cdrPort }, publicUrl, token: TOKEN, register: true },
        stateDir: path.join(dir, name),
      }, `${name}.json`);
      instances.set(name, { file, api: `http://127.0.0.1:${httpPort}`, publicUrl });
    }
    const runs: Array<{ name: string; daemon: Daemon }> = [];
    const launch = (name: string) => {
      const daemon = startDaemon(['run', '--config', instances.get(name)!.file]);
      daemons.push(daemon);
      runs.push({ name, daemon });
      return daemon;
    };
    const running = new Map([['i1', launch('i1')], ['i2', launch('i2')]]);
    const ownerOf = async (server: string, via: string): Promise<string | null | undefined> => {
      try {
        return (await getJson<Array<{ name: string; owner: string | null; state: string }>>(`${instances.get(via)!.api}/api/servers`)).body.find((s) => s.name === server && s.state === 'live')?.owner;
      } catch {
        return undefined;
      }
    };
    const receiverOf = (name: string, server: string) => `${instances.get(name)!.publicUrl}/cdr/${server}?token=${TOKEN}`;
    // Each CMS lists exactly one receiver of ours: its owner's.
    const owners = new Map<string, string>();
    for (const sim of sims) {
      const owner = await waitFor(async () => (await ownerOf(sim.name, 'i1')) ?? undefined, `${sim.name} owned`, 60_000);
      owners.set(sim.name, owner);
      await waitFor(() => sim.cdr.receivers().length === 1 && sim.cdr.receivers()[0]!.uri === receiverOf(owner, sim.name), `${sim.name} registered to ${owner}`, 30_000);
    }
    const traffic = sims.map((sim) => startTraffic(sim.world, { rate: 6, maxCalls: 3 }));
    await waitFor(() => runs.some((r) => r.daemon.events.some((e) => e.type === 'cdr.callLegEnd')), 'CDRs flowing', 30_000);

    // kill -9 the owner of cms-1 while records flow, and while a leg it announced is still up.
    const victim = owners.get('cms-1')!;
    const steady = sims[0]!.world.createCall({ name: 'Spans the takeover' });
    const stays = sims[0]!.world.addParticipant(steady, { name: 'Stays', state: 'connected' });
    await running.get(victim)!.waitForEvent((e) => e.type === 'cdr.callLegUpdate' && (e as CdrRecordEvent).participantId === stays && (e as CdrRecordEvent).callId === steady, 'the steady leg announced by the owner', 30_000);
    const survivor = victim === 'i1' ? 'i2' : 'i1';
    const entryBefore = sims[0]!.cdr.receivers()[0]!.id;
    running.get(victim)!.child.kill('SIGKILL');
    await running.get(victim)!.exit;
    running.delete(victim);
    await waitFor(async () => (await ownerOf('cms-1', survivor)) === survivor, 'cms-1 taken over', 60_000);
    await waitFor(() => sims[0]!.cdr.receivers()[0]?.uri === receiverOf(survivor, 'cms-1'), 'the entry moved to the survivor', 30_000);
    assert.deepEqual(sims[0]!.cdr.receivers().map((r) => r.id), [entryBefore], 'changed in place: one entry, the same id');
    // The victim comes back (its stored bodies, if any, go to the owner); traffic goes on a little.
    running.set(victim, launch(victim));
    await sleep(3_000);
    for (const t of traffic) t.stop();
    for (const sim of sims) for (const call of sim.world.listCalls()) sim.world.endCall(call.id);
    for (const sim of sims) await sim.cdr.drained(60_000);
    for (const sim of sims) assert.equal(sim.cdr.receivers().length, 1, `${sim.name}: one receiver of ours`);

    // Let the last events reach stdout, then fold over every run.
    await sleep(1_000);
    const all = runs.flatMap((r) => r.daemon.events).filter((e: CmsEvent): e is CdrRecordEvent => e.type.startsWith('cdr.') && e.type !== 'cdr.gap');
    for (const sim of sims) {
      const mine = all.filter((e) => e.server === sim.name);
      const ids = new Map<number, Set<string>>();
      for (const event of mine) {
        assert.equal(event.session, sim.cdr.session);
        if (!ids.has(event.recordIndex)) ids.set(event.recordIndex, new Set());
        ids.get(event.recordIndex)!.add(event.id);
      }
      const stats = sim.cdr.stats();
      assert.equal(stats.discarded, 0);
      const expected = Array.from({ length: stats.records }, (_, k) => k + 1);
      assert.deepEqual([...ids.keys()].sort((a, b) => a - b), expected, `${sim.name}: every record announced`);
      const twice = [...ids].filter(([, set]) => set.size > 1).map(([index]) => index);
      assert.deepEqual(twice, [], `${sim.name}: no record announced under two ids`);
      const legEnds = mine.filter((e) => e.type === 'cdr.callLegEnd');
      // The ids a leg showed before (possibly to the other instance) are on its end: always its
      // participant, and its call once it was in one (a leg that never connected never named one).
      for (const end of legEnds) {
        const earlier = mine.filter((e) => e.callLegId === end.callLegId && e.recordIndex < end.recordIndex);
        assert.ok(earlier.length > 0, `${sim.name}: leg end ${end.recordIndex} has earlier records`);
        assert.equal(end.participantId, earlier.find((e) => e.participantId !== undefined)?.participantId, `${sim.name}: leg end ${end.recordIndex} carries its participant`);
        assert.equal(end.callId, earlier.find((e) => e.callId !== undefined)?.callId, `${sim.name}: leg end ${end.recordIndex} carries its call`);
      }
      assert.ok(legEnds.filter((e) => e.callId !== undefined).length > 3, `${sim.name}: leg ends with their call`);
      if (sim.name === 'cms-1') {
        // Legs that started under the killed run and ended under another: their ids came through the published model and journal.
        const killedRun = runs.findIndex((r) => r.name === victim);
        const printedBy = (event: CdrRecordEvent) => runs.findIndex((r) => r.daemon.events.some((e) => e.id === event.id));
        const spanning = legEnds.filter((end) => {
          const start = mine.find((e) => e.callLegId === end.callLegId && e.type === 'cdr.callLegStart');
          return start !== undefined && printedBy(start) === killedRun && !runs[killedRun]!.daemon.events.some((e) => e.id === end.id);
        });
        assert.ok(spanning.length > 0, 'some legs span the takeover');
      }
    }
    for (const daemon of running.values()) assert.equal((await daemon.stop()).code, 0);
  });
});
