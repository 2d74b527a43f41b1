// The cluster of deploy/compose/compose.yaml as a user starts it, through podman-compose: NATS with
// JetStream, three cms-events instances sharing deploy/compose/cms-events.yaml (each with its own
// --instance and --http-port) and the simulator playing six servers, all with host networking,
// from images built here (CMS_EVENTS_IMAGE, NATS_IMAGE). Every server is live at exactly one
// instance and every instance names the same owners; one instance stopped (SIGTERM), the other
// two share its servers, again each followed by exactly one. Then `down`, also when it fails.
//
// Also here, without podman: the run command's --instance and --http-port, and their refusals.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, freePort, startDaemon, tempDir, writeConfig } from './helpers/daemon.js';
import { buildNatsImage, buildProjectImage, COMPOSE_FILE, ensureBaseImage, podman, podmanCompose, podmanEnv, removeContainers, removeImages, runProgram, uniqueName, withoutSystemdNoise } from './helpers/podman.js';
import { requirePrograms } from './helpers/requirements.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const needs = requirePrograms('podman', 'runc', 'mmdebstrap', 'podman-compose');

const SERVERS = ['cms-1', 'cms-2', 'cms-3', 'cms-4', 'cms-5', 'cms-6'];
/** Service → its HTTP port, as compose.yaml gives them. */
const INSTANCES: Record<string, number> = { 'cms-events-1': 8081, 'cms-events-2': 8082, 'cms-events-3': 8083 };
/** The ports compose.yaml's services listen on (host networking: this machine's). */
const FIXED_PORTS = [4222, 9443, 9444, 9445, 9446, 9447, 9448, 8081, 8082, 8083];

test('run --instance and --http-port: bad values exit 2 with a clear message', async () => {
  const dir = tempDir('cms-events-run-options-');
  const plain = writeConfig(dir, { servers: [] });
  const refused = async (args: string[]) => {
    const error = await run(process.execPath, [BIN, 'run', '--config', plain, ...args], { env: { ...process.env, NODE_OPTIONS: '' } }).then(
      () => assert.fail(`${args.join(' ')} is refused`),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(error.code, 2, args.join(' '));
    return error.stderr;
  };
  assert.match(await refused(['--http-port', '70000']), /--http-port <port>.*'70000' is invalid.*0 to 65535/);
  assert.match(await refused(['--http-port', '80a']), /'80a' is invalid/);
  assert.match(await refused(['--http-port', '']), /'' is invalid/);
  assert.match(await refused(['--instance', 'a b']), /--instance <name>.*'a b' is invalid.*letters, digits/);
  assert.match(await refused(['--instance', 'x'.repeat(65)]), /is invalid/);
  assert.match(await refused(['--instance', 'a1']), /--instance a1 needs a cluster section/);
});

test('run --http-port: the API on that port, also without an http section in the config', async () => {
  const dir = tempDir('cms-events-run-options-');
  const port = await freePort();
  const daemon = startDaemon(['run', '--config', writeConfig(dir, { servers: [], stateDir: null }), '--http-port', String(port)]);
  try {
    await waitFor(() => daemon.stderr().includes('HTTP API listening'), 'the HTTP API', 15_000);
    assert.match(daemon.stderr(), new RegExp(`"url":"http://127\\.0\\.0\\.1:${port}"`));
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
  } finally {
    assert.equal((await daemon.stop()).code, 0);
  }
});

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

interface ServerView {
  name: string;
  state: string;
  owner: string | null;
}

/** Each instance's GET /api/servers (instances not asked, or not answering, are left out). */
async function views(instances: string[]): Promise<Map<string, ServerView[]>> {
  const result = new Map<string, ServerView[]>();
  for (const instance of instances) {
    try {
      const response = await fetch(`http://127.0.0.1:${INSTANCES[instance]}/api/servers`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) result.set(instance, (await response.json()) as ServerView[]);
    } catch {
      // Not listening yet.
    }
  }
  return result;
}

/**
 * Every server live at exactly one of `instances`, standby at the others, and every instance
 * naming that one as its owner: the owners (server → instance), or why not.
 */
function agreement(seen: Map<string, ServerView[]>, instances: string[]): { owners: Map<string, string> } | { problem: string } {
  if (seen.size !== instances.length) return { problem: `answered: ${[...seen.keys()].join(', ') || 'none'}` };
  const owners = new Map<string, string>();
  for (const server of SERVERS) {
    const live = instances.filter((i) => seen.get(i)!.find((s) => s.name === server)?.state === 'live');
    if (live.length !== 1) return { problem: `${server} live at ${live.length} instances` };
    const named = instances.map((i) => seen.get(i)!.find((s) => s.name === server)?.owner);
    if (named.some((owner) => owner !== live[0])) return { problem: `${server}: owners named ${named.join(', ')}, live at ${live[0]}` };
    const others = instances.filter((i) => i !== live[0]).map((i) => seen.get(i)!.find((s) => s.name === server)?.state);
    if (others.some((state) => state !== 'standby')) return { problem: `${server}: ${others.join(', ')} at the other instances` };
    owners.set(server, live[0]!);
  }
  return { owners };
}

async function agreed(instances: string[], what: string): Promise<Map<string, string>> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        const result = agreement(await views(instances), instances);
        if ('owners' in result) return result.owners;
        last = result.problem;
        return undefined;
      },
      what,
      90_000,
      250,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message} (last: ${last})`);
  }
}

test('compose.yaml: three instances share six servers, each followed by exactly one; a stopped one\'s servers are taken over', { skip: needs.skip, timeout: 400_000 }, async (t) => {
  const started = Date.now();
  const busy: number[] = [];
  for (const port of FIXED_PORTS) if (!(await portFree(port))) busy.push(port);
  assert.deepEqual(busy, [], `compose.yaml uses fixed ports on this machine (host networking); these are taken: ${busy.join(', ')}`);

  const image = `localhost/${uniqueName('cms-events-test')}:latest`;
  const natsImage = `localhost/${uniqueName('cms-events-test-nats')}:latest`;
  const project = uniqueName('cmsevents').replace(/-/g, '');
  const env = { CMS_EVENTS_IMAGE: image, NATS_IMAGE: natsImage };
  let compose: { command: string[]; version: string } | undefined;
  const composeRun = async (args: string[], allowFailure = false) => {
    const ran = await runProgram(compose!.command[0]!, [...compose!.command.slice(1), '--project-name', project, '--file', COMPOSE_FILE, ...args], {
      env: { ...podmanEnv(), ...env },
    });
    if (ran.code !== 0 && !allowFailure) throw new Error(`podman-compose ${args.join(' ')} exited ${ran.code}: ${withoutSystemdNoise(ran.stderr).slice(-3000)}\n${ran.stdout.slice(-2000)}`);
    return ran;
  };
  /** The project's containers: service → container name. */
  const containers = async () => {
    const { stdout } = await podman(['ps', '--all', '--filter', `label=io.podman.compose.project=${project}`, '--format', '{{.Names}}|{{index .Labels "com.docker.compose.service"}}']);
    return new Map(
      stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('|'))
        .map(([name, service]) => [service!, name!] as const),
    );
  };
  // Registered before anything is made: down (always), then whatever down left, then the images.
  t.after(async () => {
    if (compose) {
      const down = await composeRun(['down', '--volumes', '--timeout', '10'], true);
      if (down.code !== 0) process.stderr.write(`podman-compose down exited ${down.code}: ${withoutSystemdNoise(down.stderr).slice(-1000)}\n`);
    }
    // Whatever down left (it failed, or an older podman-compose): the containers, volumes, pod, network.
    await removeContainers([...(await containers()).values()]);
    const volumes = (await podman(['volume', 'ls', '--quiet', '--filter', `label=io.podman.compose.project=${project}`], true)).stdout.split('\n').filter(Boolean);
    if (volumes.length > 0) await podman(['volume', 'rm', '--force', ...volumes], true);
    await podman(['pod', 'rm', '--force', '--ignore', `pod_${project}`], true);
    await podman(['network', 'rm', '--force', `${project}_default`], true);
    await removeImages([image, natsImage]);
  });

  const base = await ensureBaseImage(t);
  await Promise.all([buildProjectImage(t, base, image), buildNatsImage(t, base, natsImage)]);

  compose = await podmanCompose(t);
  await composeRun(['up', '--detach']);
  const byService = await containers();
  assert.deepEqual([...byService.keys()].sort(), ['cms-events-1', 'cms-events-2', 'cms-events-3', 'nats', 'simulator']);

  const all = Object.keys(INSTANCES);
  const owners = await agreed(all, 'every server live at exactly one of the three instances, all naming the same owners');
  const upAfter = (Date.now() - started) / 1000;
  const share = (map: Map<string, string>) => all.map((i) => `${i}: ${SERVERS.filter((s) => map.get(s) === i).join(' ') || '-'}`).join('; ');
  t.diagnostic(`owners: ${share(owners)}`);

  // Each instance answers its own image health check (CMS_EVENTS_HEALTH_URL names its port).
  for (const instance of all) {
    const check = await podman(['healthcheck', 'run', byService.get(instance)!], true);
    assert.equal(check.code, 0, `${instance}'s health check: ${check.stdout}${withoutSystemdNoise(check.stderr)}`);
  }
  // The owners' events reach their stdout, each with its owner.
  const busiest = all.reduce((a, b) => (SERVERS.filter((s) => owners.get(s) === b).length > SERVERS.filter((s) => owners.get(s) === a).length ? b : a));
  const logs = (await podman(['logs', byService.get(busiest)!])).stdout;
  assert.match(logs, new RegExp(`"type":"server\\.connected".*"owner":"${busiest}"`));

  // The busiest one stops (SIGTERM: it hands its servers over); the other two take them.
  const stopping = Date.now();
  await podman(['stop', '--time', '30', byService.get(busiest)!]);
  assert.equal((await podman(['inspect', byService.get(busiest)!, '--format', '{{.State.ExitCode}}'])).stdout.trim(), '0', 'a stopped instance exits 0');
  const rest = all.filter((i) => i !== busiest);
  const after = await agreed(rest, `the servers of ${busiest} taken over by the other two, each followed by exactly one`);
  t.diagnostic(`${busiest} stopped; ${((Date.now() - stopping) / 1000).toFixed(1)} s later: ${share(after)}`);
  for (const server of SERVERS) {
    if (owners.get(server) !== busiest) assert.equal(after.get(server), owners.get(server), `${server} stays where it was`);
  }
  t.diagnostic(`up and agreed after ${upAfter.toFixed(1)} s; ${((Date.now() - started) / 1000).toFixed(1)} s in all before down`);
});
