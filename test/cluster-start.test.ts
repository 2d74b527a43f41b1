// Cluster mode when NATS cannot be reached at start: the instance keeps trying, says so once in
// its log, follows nothing and answers /readyz 503 meanwhile; once NATS is there it takes the
// servers and /readyz turns 200. No credential ever appears in its output.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { requirePrograms } from './helpers/requirements.js';
import { simulator } from './helpers/simulators.js';
import { startNats, type ServerProcess } from './helpers/sinks.js';
import { sleep, waitFor } from './helpers/wait.js';

const needs = requirePrograms('nats-server');
const NATS_TOKEN = 'nats-secret-token-3f9a1c';
const running: Daemon[] = [];
let nats: ServerProcess | undefined;
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
  await nats?.stop();
});

describe('cluster mode: NATS unreachable at start', { skip: needs.skip, timeout: 60_000 }, () => {
  it('keeps trying, says so once, is not ready and follows nothing; takes the servers once NATS is up', async () => {
    const dir = tempDir('cms-events-cluster-start-');
    const natsPort = await freePort();
    const sim = await simulator({ name: 'start-1' });
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const config = writeConfig(dir, {
      servers: [serverEntry('cms-1', sim)],
      http: { host: '127.0.0.1', port },
      cluster: { nats: `nats://127.0.0.1:${natsPort}`, instance: 'alone', leaseSeconds: 2, token: NATS_TOKEN },
    });
    const daemon = startDaemon(['run', '--config', config]);
    running.push(daemon);
    await waitFor(() => /cannot reach NATS/.test(daemon.stderr()), 'the log to say NATS cannot be reached', 15_000);
    const readyz = async () => {
      try {
        return (await getJson<{ ready: boolean }>(`${api}/readyz`)).status;
      } catch {
        return undefined;
      }
    };
    await waitFor(async () => (await readyz()) === 503, '/readyz 503 without NATS', 15_000);
    const servers = (await getJson<Array<{ name: string; owner: string | null; state: string }>>(`${api}/api/servers`)).body;
    assert.deepEqual(servers.map((s) => [s.name, s.owner, s.state]), [['cms-1', null, 'standby']], 'listed, owned by nobody');
    await sleep(1_500);
    assert.equal(daemon.stderr().split('cannot reach NATS').length - 1, 1, 'said once, not at every retry');
    assert.equal(sim.stats().openConnections, 0, 'nothing followed without a lease');

    nats = await startNats(natsPort, path.join(dir, 'nats'), ['--auth', NATS_TOKEN]);
    await waitFor(async () => (await readyz()) === 200, '/readyz 200 once NATS is up and the server is followed', 30_000);
    assert.equal(sim.stats().openConnections, 1);
    // The line may reach this process's reader a moment after /readyz said live.
    await daemon.waitForEvent((e) => e.type === 'server.connected' && e.server === 'cms-1' && e.owner === 'alone', 'server.connected stamped with this instance');
    assert.ok(!daemon.stderr().includes(NATS_TOKEN) && !daemon.stdout().includes(NATS_TOKEN), 'the NATS token never printed');
    assert.equal((await daemon.stop()).code, 0);
  });
});
