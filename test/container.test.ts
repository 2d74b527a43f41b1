// The container image (deploy/container/Containerfile) as a user builds and runs it, through
// podman: the context made by build-context.sh, `podman build --network=none` on a Node 20 base
// made from Debian packages (no registry here), then the image run with host networking against
// the simulator of this process (TLS, its CA file mounted beside the config), its config and a
// handlers module importing 'cms-events' mounted read-only and its state in a named volume:
// events on stdout, /healthz and the image's HEALTHCHECK, a non-root PID 1, SIGTERM (podman stop)
// exiting 0, and a new container on the same volume announcing nothing twice.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, serverEntry, tempDir } from './helpers/daemon.js';
import { buildProjectImage, ensureBaseImage, podman, removeContainers, removeImages, uniqueName, withoutSystemdNoise } from './helpers/podman.js';
import { requirePrograms } from './helpers/requirements.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const needs = requirePrograms('podman', 'runc', 'mmdebstrap');

interface Line {
  type?: string;
  participant?: { name?: string };
  call?: { name?: string };
}

/** The container's stdout (the events), one parsed line each; its stderr is the log. */
async function eventsOf(container: string): Promise<Line[]> {
  const { stdout } = await podman(['logs', container]);
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
}

test('the image: built without network, events on stdout, health check, non-root, SIGTERM exits 0, state kept in its volume', { skip: needs.skip, timeout: 300_000 }, async (t) => {
  const started = Date.now();
  const image = `localhost/${uniqueName('cms-events-test')}:latest`;
  const volume = uniqueName('cms-events-test-state');
  const first = uniqueName('cms-events-test');
  const second = `${first}-again`;
  // Everything this test makes goes, whatever happens: the containers first, then what they used.
  t.after(async () => {
    await removeContainers([first, second]);
    await podman(['volume', 'rm', '--force', volume], true);
    await removeImages([image]);
  });
  const base = await ensureBaseImage(t);
  await buildProjectImage(t, base, image);

  const config = await podman(['image', 'inspect', image, '--format', '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{json .Config.Healthcheck.Test}}|{{json .Config.Volumes}}']);
  const [user, entrypoint, cmd, healthcheck, volumes] = config.stdout.trim().split('|');
  assert.equal(user, '10001:10001');
  assert.deepEqual(JSON.parse(entrypoint!), ['node', '/app/bin/cms-events'], 'exec form: node is PID 1');
  assert.deepEqual(JSON.parse(cmd!), ['run', '--config', '/etc/cms-events/config.yaml']);
  assert.deepEqual(JSON.parse(healthcheck!), ['CMD', 'node', '/app/healthcheck.mjs'], 'the health check is kept (docker format)');
  assert.ok('/var/lib/cms-events' in (JSON.parse(volumes!) as Record<string, unknown>));

  // A TLS server (the CA file mounted beside the config), one call with one participant.
  const sim = await simulator({ name: 'container' });
  const call = sim.world.createCall({ name: 'Boxed' });
  sim.world.addParticipant(call, { name: 'Ann', state: 'connected' });
  const port = await freePort();
  const dir = tempDir('cms-events-container-');
  copyFileSync(sim.caPath!, path.join(dir, 'ca.pem'));
  // A handlers module beside the config imports the package, as examples/handlers.mjs does.
  writeFileSync(
    path.join(dir, 'handlers.mjs'),
    "import { currentContext } from 'cms-events';\nexport default { 'participant.joined': (event) => currentContext().logger.info({ who: event.participant.name }, 'handler: joined') };\n",
    { mode: 0o644 },
  );
  writeFileSync(
    path.join(dir, 'config.yaml'),
    JSON.stringify({ servers: [serverEntry('cms-c', sim, { tls: { ca: 'ca.pem' } })], http: { host: '127.0.0.1', port }, stateDir: '/var/lib/cms-events', handlers: './handlers.mjs' }, null, 2),
    { mode: 0o644 },
  );

  await podman(['volume', 'create', volume]);
  const runArgs = (name: string) => [
    'run', '--detach', '--name', name, '--network=host',
    '--env', `CMS_EVENTS_HEALTH_URL=http://127.0.0.1:${port}/healthz`,
    '--volume', `${path.join(dir, 'config.yaml')}:/etc/cms-events/config.yaml:ro`,
    '--volume', `${path.join(dir, 'ca.pem')}:/etc/cms-events/ca.pem:ro`,
    '--volume', `${path.join(dir, 'handlers.mjs')}:/etc/cms-events/handlers.mjs:ro`,
    '--volume', `${volume}:/var/lib/cms-events`,
    image,
  ];

  await podman(runArgs(first));
  await waitFor(async () => (await eventsOf(first)).some((e) => e.type === 'participant.joined' && e.participant?.name === 'Ann'), 'participant.joined on the container\'s stdout', 60_000, 250);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(health.status, 200);
  await health.arrayBuffer();
  const check = await podman(['healthcheck', 'run', first], true);
  assert.equal(check.code, 0, `podman healthcheck run passes: ${check.stdout}${withoutSystemdNoise(check.stderr)}`);

  // Not root, and node itself is PID 1 (so SIGTERM reaches it).
  assert.equal((await podman(['exec', first, 'id', '-u'])).stdout.trim(), '10001');
  const status = (await podman(['exec', first, 'cat', '/proc/1/status'])).stdout;
  assert.match(status, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
  assert.match(status, /^Name:\s+node$/m);
  // The config folder is not the daemon's to write (state and spools go to the volume).
  assert.notEqual((await podman(['exec', first, 'touch', '/etc/cms-events/x'], true)).code, 0);

  await podman(['stop', '--time', '20', first]);
  const exited = (await podman(['inspect', first, '--format', '{{.State.ExitCode}}'])).stdout.trim();
  assert.equal(exited, '0', 'SIGTERM: exit 0 (137 would be SIGKILL after the stop timeout)');
  const before = await eventsOf(first);
  assert.equal(before.at(-1)?.type, 'server.disconnected');
  const { stderr } = await podman(['logs', first]);
  assert.match(stderr, /"who":"Ann","msg":"handler: joined"/, 'the mounted handlers module ran');
  assert.match(stderr, /"signal":"SIGTERM"/);

  // Meanwhile Bob joins. A new container on the same volume announces Bob only.
  sim.world.addParticipant(call, { name: 'Bob', state: 'connected' });
  await removeContainers([first]);
  await podman(runArgs(second));
  await waitFor(async () => (await eventsOf(second)).some((e) => e.type === 'participant.joined' && e.participant?.name === 'Bob'), 'Bob joining, seen by the new container', 60_000, 250);
  const after = await eventsOf(second);
  assert.deepEqual(after.filter((e) => e.type === 'participant.joined').map((e) => e.participant?.name), ['Bob'], 'Ann is not announced again');
  assert.deepEqual(after.filter((e) => e.type === 'call.started'), [], 'nor is the call');
  assert.ok(after.some((e) => e.type === 'server.connected'));
  await podman(['stop', '--time', '20', second]);
  assert.equal((await podman(['inspect', second, '--format', '{{.State.ExitCode}}'])).stdout.trim(), '0');
  t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s in all`);
});
