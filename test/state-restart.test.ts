// Issue 12 from outside: the real daemon (bin/cms-events run --config FILE) follows simulated
// servers over TLS, is stopped (SIGTERM) or killed -9, the meeting changes while it is down, and
// it starts again on the same state folder. It must announce exactly what changed meanwhile,
// nothing already announced; bad state files never stop it; one daemon per state folder; the
// stored models follow the configuration (removed server: file gone; host change: model kept;
// rename: a new server).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import type { SimulatedServer } from '../src/simulator/index.js';
import type { CmsEvent } from '../src/state/events.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { callEvents, canonical, line, listServerFiles, modelFile, readModel, storedAsApi } from './helpers/event-fold.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const running: Daemon[] = [];
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
});

function run(config: string): Daemon {
  const daemon = startDaemon(['run', '--config', config]);
  running.push(daemon);
  return daemon;
}

interface ServerView {
  name: string;
  state: string;
  restored: boolean;
  lastError: unknown;
  calls: number;
}

async function serverView(api: string, name: string): Promise<ServerView | undefined> {
  try {
    const { body } = await getJson<ServerView[]>(`${api}/api/servers`);
    return body.find((s) => s.name === name);
  } catch {
    return undefined; // not listening yet
  }
}

async function apiCalls(api: string, name: string): Promise<Array<{ id: string; roster: Array<{ id: string }> }>> {
  const { status, body } = await getJson<Array<{ id: string; roster: Array<{ id: string }> }>>(`${api}/api/servers/${name}/calls`);
  assert.equal(status, 200);
  return body;
}

const waitLive = (api: string, name: string) =>
  waitFor(async () => {
    const view = await serverView(api, name);
    return view?.state === 'live' && !view.restored ? view : undefined;
  }, `${name} live and reconciled`, 20_000);

const has = (daemon: Daemon, predicate: (e: CmsEvent) => boolean, what: string) => daemon.waitForEvent(predicate, what, 20_000);
const joined = (id: string) => (e: CmsEvent) => e.type === 'participant.joined' && e.participantId === id;
const started = (id: string) => (e: CmsEvent) => e.type === 'call.started' && e.callId === id;

/** Ids of everything the daemon must see in `sim`'s world: every call and participant. */
async function seesWorld(daemon: Daemon, sim: SimulatedServer): Promise<void> {
  for (const call of sim.world.listCalls()) {
    await has(daemon, started(call.id), `call ${call.name} started`);
    for (const p of call.roster) await has(daemon, joined(p.id), `${p.name} joined`);
  }
}

/** The state folder holds `server`'s model exactly as the API shows it (written, nothing pending). */
async function storedAsShown(api: string, stateDir: string, server: string): Promise<void> {
  await waitFor(async () => {
    const model = await readModel(stateDir, server);
    if (model === undefined) return false;
    return JSON.stringify(canonical(storedAsApi(model))) === JSON.stringify(canonical(await apiCalls(api, server)));
  }, `${server}'s stored model to catch up with the API`, 10_000);
}

const person = (name: string) => ({ name, uri: `${name.toLowerCase()}@example.com`, state: 'connected', direction: 'incoming' });

async function restartAnnouncesTheDifference(t: TestContext, how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const sim = await simulator({ name: `restart-${how}` });
  const dir = tempDir('cms-events-state-');
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const name = 'cms-meeting';
  const stateDir = path.join(dir, 'kept', 'models');
  const config = writeConfig(dir, { servers: [serverEntry(name, sim)], http: { host: '127.0.0.1', port }, stateDir: 'kept/models' });

  const w = sim.world;
  const weekly = w.createCall({ name: 'Weekly' });
  const [leaver, muted, stays1, stays2] = ['Ana', 'Ben', 'Cy', 'Di'].map((n) => w.addParticipant(weekly, person(n)));
  const retro = w.createCall({ name: 'Retro' });
  const retroPeople = ['Eve', 'Finn'].map((n) => w.addParticipant(retro, person(n)));

  // Run 1 follows the meeting.
  const first = run(config);
  await seesWorld(first, sim);
  await sim.idle();
  await waitLive(api, name);
  const shownBefore = await apiCalls(api, name);
  assert.deepEqual(
    callEvents(first.events).filter((e) => e.synthetic),
    [],
    'run 1 starts from an empty state folder: nothing to reconcile',
  );

  if (how === 'SIGTERM') {
    const { code } = await first.stop();
    assert.equal(code, 0);
    // Written once more on stop: the file holds what was shown.
    const model = await readModel(stateDir, name);
    assert.ok(model, `${modelFile(stateDir, name)} written on SIGTERM`);
    assert.deepEqual(canonical(storedAsApi(model)), canonical(shownBefore));
    assert.equal(existsSync(path.join(stateDir, 'lock')), false, 'the lock is released on a graceful stop');
  } else {
    // The model is written within about a second of the last change: wait for the file to show it.
    await storedAsShown(api, stateDir, name);
    first.child.kill('SIGKILL');
    const { signal } = await first.exit;
    assert.equal(signal, 'SIGKILL');
    assert.equal(existsSync(path.join(stateDir, 'lock')), true, 'kill -9 leaves the lock behind (the next run takes it over)');
  }

  // While the daemon is down: Ana leaves, Gil joins, Ben mutes, Retro ends with Eve and Finn in
  // it, Lunch starts with Hal.
  w.removeParticipant(weekly, leaver, 'participantInitiated');
  const newcomer = w.addParticipant(weekly, person('Gil'));
  w.updateParticipant(weekly, muted, { audioMuted: true });
  w.endCall(retro, 'allLeft');
  const lunch = w.createCall({ name: 'Lunch' });
  const hal = w.addParticipant(lunch, person('Hal'));

  // Run 2 starts while the server refuses connections: the API shows the stored model, marked
  // restored, before the server is reached.
  sim.faults.goDown();
  const second = run(config);
  const unconfirmed = await waitFor(async () => {
    const view = await serverView(api, name);
    return view?.lastError ? view : undefined;
  }, 'run 2 to try the server and fail');
  assert.equal(unconfirmed.restored, true, 'restored: true while the stored model is not confirmed');
  assert.notEqual(unconfirmed.state, 'live');
  assert.equal(unconfirmed.calls, 2);
  assert.deepEqual(canonical(await apiCalls(api, name)), canonical(shownBefore), 'the stored calls are shown before the server is reached');
  assert.deepEqual(callEvents(second.events), [], 'nothing is announced before the server is reached');
  sim.faults.comeUp();

  await has(second, (e) => e.type === 'server.connected', 'run 2 to connect');
  await has(second, (e) => e.type === 'call.ended' && e.callId === retro, 'Retro to end');
  await has(second, joined(hal), 'Hal to join');
  await has(second, joined(newcomer), 'Gil to join');
  // A call started now is announced after everything the first snapshot reconciled.
  const sentinel = w.createCall({ name: 'Sentinel' });
  await has(second, started(sentinel), 'the sentinel call');
  const live = await waitLive(api, name);
  assert.equal(live.restored, false, 'restored: false once live and reconciled');
  assert.equal((await apiCalls(api, name)).length, 3, 'Weekly, Lunch and the sentinel');
  const { code } = await second.stop();
  assert.equal(code, 0);

  const difference = callEvents(second.events).filter((e) => !('callId' in e && e.callId === sentinel));
  t.diagnostic(`run 2 (${how}) announced ${difference.length} events:`);
  for (const e of difference) t.diagnostic(`  ${line(e)}`);
  // Lunch is new: besides its start and Hal's join, the call's own first details may follow
  // (call.updated, as for any new call; never synthetic). Everything else is exact.
  const lunchUpdates = difference.filter((e) => e.type === 'call.updated' && e.callId === lunch);
  assert.ok(lunchUpdates.length <= 1, 'at most one call.updated for the new call (its first details)');
  for (const e of lunchUpdates) assert.notEqual(e.synthetic, true, `a new call's details are not synthetic: ${line(e)}`);
  const exact = difference.filter((e) => !lunchUpdates.includes(e));
  const expected = [
    `participant.left ${weekly} ${leaver} synthetic`,
    `participant.joined ${weekly} ${newcomer}`,
    `participant.updated ${weekly} ${muted} synthetic changes={"audioMuted":true}`,
    ...retroPeople.map((p) => `participant.left ${retro} ${p} synthetic reason=callEnded`),
    `call.ended ${retro} synthetic`,
    `call.started ${lunch}`,
    `participant.joined ${lunch} ${hal}`,
  ];
  assert.deepEqual(exact.map(line).sort(), expected.sort(), 'run 2 announces exactly what changed while the daemon was down');
  const order = exact.map(line);
  assert.equal(order.indexOf(`call.ended ${retro} synthetic`), Math.max(...retroPeople.map((p) => order.indexOf(`participant.left ${retro} ${p} synthetic reason=callEnded`))) + 1, 'Retro ends right after its people left');
  assert.ok(order.indexOf(`call.started ${lunch}`) < order.indexOf(`participant.joined ${lunch} ${hal}`), 'Lunch starts before Hal joins it');
  for (const id of [muted, stays1, stays2, ...retroPeople]) assert.ok(!second.events.some(joined(id)), `${id} was announced by run 1 and not again`);
  for (const id of [weekly, retro]) assert.ok(!second.events.some(started(id)), `call ${id} was announced by run 1 and not again`);
  assert.deepEqual([...first.junk, ...second.junk], []);
  // The last model written on stop is the world as it is.
  const model = await readModel(stateDir, name);
  assert.ok(model);
  assert.deepEqual(
    model.calls.map((c) => [c.call.id, c.roster.map((p) => p.id).sort()]).sort(),
    w.listCalls().map((c) => [c.id, c.roster.map((p) => p.id).sort()]).sort(),
  );
  assert.deepEqual(sim.violations(), []);
}

describe('the daemon restarts on its state folder', () => {
  it('after SIGTERM, announces exactly what changed while it was down; restored: true until the server confirms', async (t) => {
    await restartAnnouncesTheDifference(t, 'SIGTERM');
  });

  it('after kill -9 (once the model was written), announces exactly what changed while it was down', async (t) => {
    await restartAnnouncesTheDifference(t, 'SIGKILL');
  });
});

describe('bad state never stops the daemon', () => {
  it('a truncated, unknown-version, garbage, unreadable or foreign file is logged with its path and set aside; that server starts fresh', async (t) => {
    const dir = tempDir('cms-events-state-');
    const stateDir = path.join(dir, 'state'); // the default: `state` beside the config file
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const names = ['cms-truncated', 'cms-version-99', 'cms-garbage', 'cms-unreadable', 'cms-foreign'] as const;
    const sims = new Map<string, SimulatedServer>();
    const worlds = new Map<string, { call: string; participant: string }>();
    for (const name of names) {
      const sim = await simulator({ name });
      sims.set(name, sim);
      const call = sim.world.createCall({ name: `Call of ${name}` });
      worlds.set(name, { call, participant: sim.world.addParticipant(call, person('Ida')) });
    }
    // Each bad file claims the call its server really has: had the daemon trusted it, the call
    // would count as announced and not be announced again.
    const modelOf = (server: string, version = 1) => {
      const { call, participant } = worlds.get(server)!;
      return JSON.stringify({ version, server, savedAt: new Date().toISOString(), calls: [{ call: { id: call, name: 'x' }, roster: [{ id: participant, name: 'Ida' }] }] });
    };
    const contents = new Map<string, Buffer | 'folder'>([
      ['cms-truncated', Buffer.from(modelOf('cms-truncated').slice(0, 60))],
      ['cms-version-99', Buffer.from(modelOf('cms-version-99', 99))],
      ['cms-garbage', Buffer.from([0xff, 0xfe, 0x00, 0x8a, 0x13, 0x7b, 0x22, 0xc3, 0x28, 0x00, 0x01, 0x9f, 0x7d])],
      ['cms-unreadable', 'folder'], // a folder where the file should be: reading it fails (EISDIR)
      ['cms-foreign', Buffer.from(modelOf('cms-foreign').replace('"server":"cms-foreign"', '"server":"cms-elsewhere"'))],
    ]);
    await mkdir(path.join(stateDir, 'servers'), { recursive: true });
    for (const [name, content] of contents) {
      if (content === 'folder') await mkdir(modelFile(stateDir, name));
      else await writeFile(modelFile(stateDir, name), content);
    }
    const config = writeConfig(dir, { servers: names.map((n) => serverEntry(n, sims.get(n)!)), http: { host: '127.0.0.1', port } });

    const daemon = run(config);
    for (const name of names) {
      const { call, participant } = worlds.get(name)!;
      await has(daemon, (e) => e.server === name && e.type === 'call.started' && e.callId === call, `${name}'s call announced as new`);
      await has(daemon, (e) => e.server === name && joined(participant)(e), `${name}'s participant announced as new`);
      await waitLive(api, name);
    }
    assert.deepEqual(callEvents(daemon.events).filter((e) => e.synthetic), [], 'nothing reconciled against a bad file');
    const files = await listServerFiles(stateDir);
    t.diagnostic(`servers/: ${files.join(', ')}`);
    for (const [name, content] of contents) {
      const file = modelFile(stateDir, name);
      const aside = files.filter((f) => f.startsWith(`${path.basename(file)}.corrupt-`));
      assert.equal(aside.length, 1, `${name}'s bad file is set aside as ${path.basename(file)}.corrupt-<time>`);
      const asidePath = path.join(stateDir, 'servers', aside[0]!);
      if (content === 'folder') assert.ok((await readdir(asidePath)).length === 0, 'the folder itself was moved aside');
      else assert.deepEqual(await readFile(asidePath), content, 'set aside as it was');
      assert.ok(daemon.stderr().includes(file), `the log names ${file}`);
      // The server starts fresh and its new model is written in place of the bad one.
      await storedAsShown(api, stateDir, name);
    }
    const { code } = await daemon.stop();
    assert.equal(code, 0, 'the daemon ran and stopped normally');
    assert.deepEqual(daemon.junk, []);
  });
});

describe('one daemon per state folder', () => {
  it('a second daemon on the same (default) state folder exits 2, naming the folder and the holder pid', async () => {
    const sim = await simulator({ name: 'lock' });
    const dir = tempDir('cms-events-state-');
    const stateDir = path.join(dir, 'state');
    const [port1, port2] = [await freePort(), await freePort()];
    const api = `http://127.0.0.1:${port1}`;
    const first = run(writeConfig(dir, { servers: [serverEntry('cms-lock', sim)], http: { host: '127.0.0.1', port: port1 } }));
    await waitFor(() => serverView(api, 'cms-lock'), 'the first daemon listening');
    await waitLive(api, 'cms-lock');
    const holder = JSON.parse(await readFile(path.join(stateDir, 'lock'), 'utf8')) as { pid: number };
    assert.equal(holder.pid, first.child.pid);

    // Another config file in the same folder: same default stateDir, its own HTTP port, stdout only.
    const second = run(writeConfig(dir, { servers: [serverEntry('cms-lock', sim)], http: { host: '127.0.0.1', port: port2 } }, 'second.json'));
    const { code } = await second.exit;
    assert.equal(code, 2);
    assert.ok(second.stderr().includes(stateDir), `stderr names the state folder ${stateDir}: ${second.stderr()}`);
    assert.match(second.stderr(), new RegExp(`\\bpid ${first.child.pid}\\b`), 'stderr names the holder pid');
    assert.equal(second.stdout(), '', 'the second daemon announced nothing');

    // The first one is untouched and still follows.
    const call = sim.world.createCall({ name: 'After the refusal' });
    await has(first, started(call), 'the first daemon still follows');
    assert.equal((JSON.parse(await readFile(path.join(stateDir, 'lock'), 'utf8')) as { pid: number }).pid, first.child.pid);
    assert.equal((await first.stop()).code, 0);
    assert.equal(existsSync(path.join(stateDir, 'lock')), false, 'released on stop');
  });
});

describe('stored models follow the configuration', () => {
  it('a removed server loses its file (also while the daemon was down); a host change keeps the model; a rename starts fresh', async (t) => {
    const dir = tempDir('cms-events-state-');
    const stateDir = path.join(dir, 'st');
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const sims: Record<'a' | 'b' | 'c', SimulatedServer> = { a: await simulator({ name: 'a' }), b: await simulator({ name: 'b' }), c: await simulator({ name: 'c' }) };
    const meeting: Record<string, { call: string; participant: string }> = {};
    for (const [key, sim] of Object.entries(sims)) {
      const call = sim.world.createCall({ name: `Meeting ${key}` });
      meeting[key] = { call, participant: sim.world.addParticipant(call, person(`Jo${key}`)) };
    }
    const write = (servers: unknown[]) => writeConfig(dir, { servers, http: { host: '127.0.0.1', port }, stateDir: 'st' });
    const config = write([serverEntry('cms-a', sims.a), serverEntry('cms-b', sims.b), serverEntry('cms-c', sims.c)]);
    const daemon = run(config);
    for (const sim of Object.values(sims)) await seesWorld(daemon, sim);
    for (const name of ['cms-a', 'cms-b', 'cms-c']) await storedAsShown(api, stateDir, name);
    assert.deepEqual(await listServerFiles(stateDir), ['cms-a.json', 'cms-b.json', 'cms-c.json']);

    // cms-b leaves the configuration: its calls end (every join gets its leave), its file goes.
    let mark = daemon.events.length;
    write([serverEntry('cms-a', sims.a), serverEntry('cms-c', sims.c)]);
    await waitFor(async () => !(await listServerFiles(stateDir)).includes('cms-b.json'), 'cms-b.json to be deleted');
    assert.deepEqual(
      callEvents(daemon.events.slice(mark)).filter((e) => e.server === 'cms-b').map(line),
      [`participant.left ${meeting.b!.call} ${meeting.b!.participant} synthetic reason=callEnded`, `call.ended ${meeting.b!.call} synthetic reason=serverRemoved`],
      'a removed server ends its calls',
    );
    await waitFor(async () => (await serverView(api, 'cms-b')) === undefined || undefined, 'cms-b to leave the API');

    // cms-a's host changes (same server, another name for it): the model is kept, nothing is
    // announced again, and what happens next is followed.
    mark = daemon.events.length;
    write([serverEntry('cms-a', sims.a, { host: 'localhost' }), serverEntry('cms-c', sims.c)]);
    await has(daemon, (e) => daemon.events.indexOf(e) >= mark && e.server === 'cms-a' && e.type === 'server.connected', 'cms-a reconnected to localhost');
    await waitLive(api, 'cms-a');
    const ivy = sims.a.world.addParticipant(meeting.a!.call, person('Ivy'));
    await has(daemon, joined(ivy), 'Ivy joined after the host change');
    const afterHostChange = callEvents(daemon.events.slice(mark)).filter((e) => e.server === 'cms-a');
    t.diagnostic(`after cms-a's host change: ${afterHostChange.map(line).join('; ')}`);
    assert.deepEqual(
      afterHostChange.filter((e) => e.type === 'call.started' || e.type === 'participant.joined' || e.synthetic).map(line),
      [`participant.joined ${meeting.a!.call} ${ivy}`],
      'the host change announces nothing again',
    );
    await storedAsShown(api, stateDir, 'cms-a');

    // cms-c is renamed cms-renamed: a new server, its calls announced as new; the old file goes.
    mark = daemon.events.length;
    write([serverEntry('cms-a', sims.a, { host: 'localhost' }), serverEntry('cms-renamed', sims.c)]);
    await has(daemon, (e) => e.server === 'cms-renamed' && started(meeting.c!.call)(e), 'the renamed server announces its call as new');
    await has(daemon, (e) => e.server === 'cms-renamed' && joined(meeting.c!.participant)(e), 'the renamed server announces its participant as new');
    await storedAsShown(api, stateDir, 'cms-renamed');
    await waitFor(async () => !(await listServerFiles(stateDir)).includes('cms-c.json'), 'cms-c.json to be deleted');
    const renamed = callEvents(daemon.events.slice(mark)).filter((e) => e.server === 'cms-renamed');
    assert.deepEqual(renamed.filter((e) => e.synthetic), [], 'the new name reconciles nothing: it starts fresh');
    t.diagnostic(`after the rename, cms-c said: ${callEvents(daemon.events.slice(mark)).filter((e) => e.server === 'cms-c').map(line).join('; ') || 'nothing'}`);
    assert.equal((await daemon.stop()).code, 0);
    assert.deepEqual(await listServerFiles(stateDir), ['cms-a.json', 'cms-renamed.json']);

    // cms-a is removed while the daemon is down: its calls end and its model is pruned once the
    // first server list is applied.
    write([serverEntry('cms-renamed', sims.c)]);
    const again = run(config);
    await waitLive(api, 'cms-renamed');
    await waitFor(async () => (await listServerFiles(stateDir)).join() === 'cms-renamed.json', 'cms-a.json to be pruned');
    const call = sims.c.world.createCall({ name: 'Later' });
    await has(again, started(call), 'the restarted daemon follows');
    assert.deepEqual(
      callEvents(again.events).filter((e) => e.server === 'cms-renamed').map(line),
      [`call.started ${call}`, ...callEvents(again.events).filter((e) => e.type === 'call.updated' && e.callId === call).map(line)],
      'the restart after removing cms-a announces only the new call',
    );
    assert.deepEqual(
      callEvents(again.events).filter((e) => e.server === 'cms-a').map(line),
      [
        `participant.left ${meeting.a!.call} ${meeting.a!.participant} synthetic reason=callEnded`,
        `participant.left ${meeting.a!.call} ${ivy} synthetic reason=callEnded`,
        `call.ended ${meeting.a!.call} synthetic reason=serverRemoved`,
      ],
      'the server removed while the daemon was down ends its calls on the restart',
    );
    assert.equal((await again.stop()).code, 0);
    assert.deepEqual(await listServerFiles(stateDir), ['cms-renamed.json'], 'no temporary files left behind');
  });
});

describe('kill -9 right after a join', () => {
  it(
    'a participant (and a call) announced after the last model write and gone by the restart still get their leave (end)',
    async (t) => {
      const sim = await simulator({ name: 'late-join' });
      const dir = tempDir('cms-events-state-');
      const stateDir = path.join(dir, 'state');
      const port = await freePort();
      const api = `http://127.0.0.1:${port}`;
      const name = 'cms-late';
      const config = writeConfig(dir, { servers: [serverEntry(name, sim)], http: { host: '127.0.0.1', port } });
      const w = sim.world;
      const standup = w.createCall({ name: 'Standup' });
      w.addParticipant(standup, person('Amy'));

      const first = run(config);
      await seesWorld(first, sim);
      await storedAsShown(api, stateDir, name);
      // Lou joins the standup and a short call starts with Max: announced, then the daemon is
      // killed at once, before its next write (at most a second later) can record them.
      const lou = w.addParticipant(standup, person('Lou'));
      const short = w.createCall({ name: 'Short' });
      const max = w.addParticipant(short, person('Max'));
      await has(first, joined(lou), 'Lou joined');
      await has(first, joined(max), 'Max joined');
      first.child.kill('SIGKILL');
      await first.exit;
      const model = await readModel(stateDir, name);
      const recorded = JSON.stringify(model).includes(lou);
      t.diagnostic(`the model written before the kill ${recorded ? 'holds' : 'does not hold'} Lou`);

      // While the daemon is down, Lou leaves and the short call ends.
      w.removeParticipant(standup, lou);
      w.endCall(short);
      const second = run(config);
      await waitLive(api, name);
      const sentinel = w.createCall({ name: 'Sentinel' });
      await has(second, started(sentinel), 'the sentinel call');
      assert.equal((await second.stop()).code, 0);
      // What run 1 journaled after its last model write is handed to the sinks again, same ids
      // (a consumer that de-duplicates on the id sees it once); then the difference.
      const firstIds = new Set(first.events.map((e) => e.id));
      const again = callEvents(second.events).filter((e) => firstIds.has(e.id));
      t.diagnostic(`run 2 handed on again from run 1's journal: ${again.map(line).join('; ') || 'nothing'}`);
      const said = callEvents(second.events).filter((e) => !firstIds.has(e.id) && !('callId' in e && e.callId === sentinel)).map(line);
      t.diagnostic(`run 2 announced: ${said.join('; ') || 'nothing'}`);
      assert.deepEqual(
        said.sort(),
        [
          `call.updated ${standup} synthetic changes={"participants":1}`,
          `participant.left ${standup} ${lou} synthetic`,
          `participant.left ${short} ${max} synthetic reason=callEnded`,
          `call.ended ${short} synthetic`,
        ].sort(),
      );
    },
  );
});
