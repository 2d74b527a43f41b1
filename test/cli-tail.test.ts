// `cms-events tail`: one server's events on the terminal, password from the environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../src/simulator/index.js';
import { startDaemon } from './helpers/daemon.js';
import { waitFor } from './helpers/wait.js';

test('tail shows one server as readable lines, and as NDJSON with --json', async () => {
  const sim = await startSimulator({ password: 'tail-pw-123' });
  try {
    sim.world.createCall({ name: 'Tail call' });
    const common = ['tail', '--host', sim.host, '--port', String(sim.port), '--user', sim.username, '--ca', sim.caPath!];
    const readable = startDaemon(common, { CMS_PASSWORD: sim.password });
    await waitFor(() => /call started\s+"Tail call"/.test(readable.stdout()), 'a readable call line');
    assert.match(readable.stdout(), /127\.0\.0\.1 connected/);
    assert.equal((await readable.stop()).code, 0);

    const json = startDaemon([...common, '--json', '--password-env', 'MY_PW'], { MY_PW: sim.password });
    const started = await json.waitForEvent((e) => e.type === 'call.started', 'a call.started object');
    assert.equal(started.type === 'call.started' && started.call.name, 'Tail call');
    assert.equal((await json.stop()).code, 0);
    assert.deepEqual(json.junk, []);
    assert.ok(!(readable.stderr() + json.stderr()).includes(sim.password), 'no password in the output');
  } finally {
    await sim.close();
  }
});

test('tail refuses a bad port with exit 2, and asks for a password it cannot prompt for', async () => {
  const badPort = startDaemon(['tail', '--host', 'h', '--port', 'abc', '--user', 'u'], { CMS_PASSWORD: 'x' });
  assert.equal((await badPort.exit).code, 2);
  assert.match(badPort.stderr(), /--port: "abc" is not a port number/);
  const noPassword = startDaemon(['tail', '--host', 'h', '--user', 'u'], { CMS_PASSWORD: '' });
  assert.equal((await noPassword.exit).code, 2);
  assert.match(noPassword.stderr(), /no password/);
});
