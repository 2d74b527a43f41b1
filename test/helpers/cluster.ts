// Cluster mode from outside, the common part (test/cluster-daemon.test.ts, cluster-faults.test.ts):
// a real `nats-server -js` on a free port with a store in a temp folder, simulated servers over
// TLS with some traffic, and daemon instances (bin/cms-events run --config with a cluster
// section), each process's stdout stamped into one record list, so that the union of all
// instances' events can be folded per participant and per call.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, type TestContext } from 'node:test';
import { startTraffic, type SimulatedServer } from '../../src/simulator/index.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './daemon.js';
import { foldPresence, stamp, type FoldReport, type Stamped } from './event-fold.js';
import { simulator } from './simulators.js';
import { startNats, type ServerProcess } from './sinks.js';
import { waitFor } from './wait.js';

export const LEASE_SECONDS = 3;
export const LEASE_MS = LEASE_SECONDS * 1_000;
/** What a killed (or paused) instance printed this long before it may be printed again by its successor. */
export const REPEAT_WINDOW_MS = 1_500;

/** One entry of GET /api/servers, the fields these tests read. */
export interface ServerEntry {
  name: string;
  state: string;
  owner: string | null;
}

/** One daemon process: `run` indexes the records it printed and `killedAt`. */
export interface Instance {
  name: string;
  run: number;
  daemon: Daemon;
  api: string;
}

const daemons: Daemon[] = [];
const natsServers: ServerProcess[] = [];
after(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await Promise.all(natsServers.map((n) => n.stop()));
});

export interface ClusterOptions {
  servers: number;
  instances: readonly string[];
  /** Traffic per simulated server (startTraffic). */
  rate: number;
  maxCalls: number;
}

export class ClusterRig {
  readonly dir = tempDir('cms-events-cluster-');
  readonly natsStore = path.join(this.dir, 'nats');
  nats!: ServerProcess;
  natsPort = 0;
  readonly sims: SimulatedServer[] = [];
  traffic: Array<{ stop(): void }> = [];
  /** Every event any instance printed, stamped with its process (run) and when it was read. */
  readonly records: Stamped[] = [];
  /** Per run: when it was killed -9 (or paused past its lease); undefined: it was not. */
  readonly killedAt: Array<number | undefined> = [];
  /** Per run (every process started, restarts included). */
  readonly runs: Instance[] = [];
  /** The instance currently running under each name. */
  readonly current = new Map<string, Instance>();
  /** Per instance name: its config file and HTTP port (a restart uses the same). */
  readonly #configs = new Map<string, { file: string; port: number }>();

  static async start(options: ClusterOptions): Promise<ClusterRig> {
    const rig = new ClusterRig();
    rig.natsPort = await freePort();
    await rig.startNats();
    for (let i = 1; i <= options.servers; i++) rig.sims.push(await simulator({ name: `cms-${i}` }));
    rig.traffic = rig.sims.map((sim) => startTraffic(sim.world, { rate: options.rate, maxCalls: options.maxCalls }));
    const servers = rig.sims.map((sim, i) => serverEntry(`cms-${i + 1}`, sim));
    for (const name of options.instances) {
      const port = await freePort();
      const cluster = { nats: `nats://127.0.0.1:${rig.natsPort}`, instance: name, leaseSeconds: LEASE_SECONDS };
      rig.#configs.set(name, { file: writeConfig(rig.dir, { servers, http: { host: '127.0.0.1', port }, cluster }, `${name}.json`), port });
      rig.launch(name);
    }
    return rig;
  }

  /** nats-server on its port and store (again, after stopNats). */
  async startNats(): Promise<void> {
    this.nats = await startNats(this.natsPort, this.natsStore);
    natsServers.push(this.nats);
  }

  /** Freezes nats-server (SIGSTOP): connections stay open, nothing is answered. stopNats ends it. */
  pauseNats(): void {
    this.nats.proc.kill('SIGSTOP');
  }

  /** Kills nats-server (SIGKILL): its store stays for startNats. */
  async stopNats(): Promise<void> {
    await this.nats.stop();
  }

  get instances(): Instance[] {
    return [...this.current.values()];
  }

  instance(name: string): Instance {
    const instance = this.current.get(name);
    if (instance === undefined) throw new Error(`no instance ${name}`);
    return instance;
  }

  /** Starts instance `name` (again: same name, same config, a new run). */
  restart(name: string): Instance {
    return this.launch(name);
  }

  private launch(name: string): Instance {
    const { file, port } = this.#configs.get(name)!;
    const daemon = startDaemon(['run', '--config', file]);
    daemons.push(daemon);
    const instance: Instance = { name, run: this.runs.length, daemon, api: `http://127.0.0.1:${port}` };
    stamp(daemon, instance.run, this.records);
    this.runs.push(instance);
    this.killedAt.push(undefined);
    this.current.set(name, instance);
    return instance;
  }

  /** Stops (SIGTERM) instance `name` and waits for it; returns its exit. */
  async stopInstance(name: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const instance = this.instance(name);
    this.current.delete(name);
    return instance.daemon.stop();
  }

  async serversSeenBy(instance: Instance): Promise<ServerEntry[] | undefined> {
    try {
      return (await getJson<ServerEntry[]>(`${instance.api}/api/servers`)).body;
    } catch {
      return undefined;
    }
  }

  /** Server → owner as `instance` sees it, when every server has one; otherwise undefined. */
  async owners(instance: Instance): Promise<Map<string, string> | undefined> {
    const seen = await this.serversSeenBy(instance);
    return seen && seen.length === this.sims.length && seen.every((s) => s.owner !== null) ? new Map(seen.map((s) => [s.name, s.owner!])) : undefined;
  }

  /** How many servers each running instance owns in `map`, in the order of `names`. */
  share(map: Map<string, string>, names = this.instances.map((i) => i.name)): number[] {
    return names.map((name) => [...map.values()].filter((o) => o === name).length);
  }

  /** Every server owned, as every running instance sees it (the same owners for all). */
  async waitAllOwned(what: string, timeoutMs = 60_000): Promise<Map<string, string>> {
    return waitFor(async () => {
      let first: Map<string, string> | undefined;
      for (const instance of this.instances) {
        const map = await this.owners(instance);
        if (map === undefined) return undefined;
        if (first !== undefined && JSON.stringify([...first]) !== JSON.stringify([...map])) return undefined;
        first ??= map;
      }
      return first;
    }, what, timeoutMs, 50);
  }

  connections(): number[] {
    return this.sims.map((sim) => sim.stats().openConnections);
  }

  async waitOneConnectionEach(what = 'one connection per server', timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.sims.every((sim) => sim.stats().openConnections === 1), what, timeoutMs);
  }

  fold(kind: 'participant' | 'call'): FoldReport {
    return foldPresence(this.records, { kind, killedAt: this.killedAt, windowMs: REPEAT_WINDOW_MS, concurrent: true });
  }

  /**
   * The end of every scenario: traffic stops, every call ends, each server still has exactly one
   * connection, every end is announced, the running instances stop gracefully (closing every
   * connection), and the fold holds: every join once, matched by exactly one leave; no simulator
   * violation.
   */
  async finish(t: TestContext, options: { minJoins?: number } = {}): Promise<{ participants: FoldReport; calls: FoldReport }> {
    await this.waitOneConnectionEach('one connection per server before the end');
    for (const tr of this.traffic) tr.stop();
    for (const sim of this.sims) for (const call of sim.world.listCalls()) sim.world.endCall(call.id);
    await waitFor(() => {
      const calls = this.fold('call');
      return calls.opens === calls.closes;
    }, 'every call announced as ended', 30_000);
    for (const sim of this.sims) await sim.idle();
    assert.deepEqual(this.connections(), this.sims.map(() => 1), 'every simulated server ends with exactly one connection');
    for (const instance of this.instances) assert.equal((await this.stopInstance(instance.name)).code, 0, `${instance.name} stops cleanly`);
    assert.deepEqual(this.connections(), this.sims.map(() => 0), 'graceful stops close every connection');

    const participants = this.fold('participant');
    const calls = this.fold('call');
    t.diagnostic(`participants: ${participants.opens} joins, ${participants.closes} leaves, repeated ${participants.repeatedOpens}/${participants.repeatedCloses}, replayed ${participants.replayed}; calls: ${calls.opens} starts, ${calls.closes} ends; events ${this.records.length}`);
    for (const failure of [...participants.failures, ...calls.failures].slice(0, 20)) t.diagnostic(`FAIL ${failure}`);
    assert.ok(participants.opens >= (options.minJoins ?? 11), 'busy enough to mean something');
    assert.deepEqual(participants.failures, [], 'every join once, matched by exactly one leave');
    assert.deepEqual(calls.failures, [], 'every call start once, matched by exactly one end');
    assert.deepEqual([...participants.lostCloses, ...calls.lostCloses], [], 'none lost');
    for (const sim of this.sims) assert.deepEqual(sim.violations(), [], `${sim.name}: no protocol violation`);
    return { participants, calls };
  }

  stopTraffic(): void {
    for (const tr of this.traffic) tr.stop();
  }
}
