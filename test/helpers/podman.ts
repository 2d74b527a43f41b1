// What the container tests (container.test.ts, compose.test.ts) share: podman run the way this
// machine needs it, a Node 20 base image built once from Debian packages (no image registry is
// needed), the project's image built from it as a user builds it, and a podman-compose that can
// do host networking.
//
// The base is made with mmdebstrap (Debian 13: nodejs 20, ca-certificates, nats-server) and
// imported as localhost/cms-events-test-base:<hash of the package list>. The tar and the image are
// kept (in <tmp>/cms-events-podman and in podman's storage) and reused by later runs; a lock
// folder keeps the two test files, which node --test runs at the same time, from building it twice.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './daemon.js';
import { findProgram } from './requirements.js';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CONTAINERFILE_DIR = path.join(ROOT, 'deploy', 'container');
export const COMPOSE_FILE = path.join(ROOT, 'deploy', 'compose', 'compose.yaml');

const CACHE = path.join(os.tmpdir(), 'cms-events-podman');
const SUITE = 'trixie';
const PACKAGES = ['nodejs', 'ca-certificates', 'nats-server'];
const KEY = createHash('sha256').update(`${SUITE} minbase ${PACKAGES.join(',')}`).digest('hex').slice(0, 12);
export const BASE_IMAGE = `localhost/cms-events-test-base:${KEY}`;

/** A name no other run uses: for image tags, containers, volumes and compose projects. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

/**
 * podman's configuration here: no ulimits raised (the sandbox refuses), runc with cgroupfs (crun
 * refuses the cgroup setup). A CONTAINERS_CONF of the caller's own is kept.
 */
export function podmanEnv(): NodeJS.ProcessEnv {
  if (process.env.CONTAINERS_CONF) return { ...process.env };
  mkdirSync(CACHE, { recursive: true });
  const file = path.join(CACHE, 'containers.conf');
  const text = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n';
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
  return { ...process.env, CONTAINERS_CONF: file };
}

export interface Ran {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a program to its end; never throws for a non-zero exit (`code` says it). */
export function runProgram(file: string, args: string[], options: ExecFileOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, timeout: 240_000, env: podmanEnv(), ...options, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code;
      // A string code: it did not start at all (ENOENT, …). null: killed (the timeout).
      if (typeof code === 'string') reject(error);
      else resolve({ stdout: String(stdout), stderr: String(stderr), code: error ? (typeof code === 'number' ? code : -1) : 0 });
    });
  });
}

/** `podman …`; throws with its stderr when it fails, unless `allowFailure`. */
export async function podman(args: string[], allowFailure = false): Promise<Ran> {
  const ran = await runProgram('podman', args);
  if (ran.code !== 0 && !allowFailure) throw new Error(`podman ${args.join(' ')} exited ${ran.code}: ${withoutSystemdNoise(ran.stderr).slice(-2000)}`);
  return ran;
}

/**
 * Without systemd (as here) podman says at every start and removal of a container with a health
 * check that it cannot add a timer for it; the check itself runs with `podman healthcheck run`.
 */
export function withoutSystemdNoise(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.includes('unable to get systemd connection'))
    .join('\n');
}

/** Holds `name` (a folder under the cache) while `work` runs; waits for another holder. */
async function withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
  mkdirSync(CACHE, { recursive: true });
  const lock = path.join(CACHE, `${name}.lock`);
  await waitFor(
    () => {
      try {
        mkdirSync(lock);
        writeFileSync(path.join(lock, 'pid'), String(process.pid));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        // A holder that died (killed test run) leaves its folder behind: take it over.
        let pid = NaN;
        try {
          pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
        } catch {
          // Being written this instant.
        }
        const stale = Number.isSafeInteger(pid) && pid > 0 ? !alive(pid) : Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000;
        if (stale) rmSync(lock, { recursive: true, force: true });
        return false;
      }
    },
    `the lock ${lock}`,
    300_000,
    200,
  );
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * mmdebstrap into `tar` (written aside, then renamed: a half-written tar is never used; the name
 * still ends in .tar, which tells mmdebstrap the format).
 */
async function mmdebstrap(args: string[], tar: string): Promise<void> {
  const partial = tar.replace(/\.tar$/, `.partial-${process.pid}.tar`);
  const ran = await runProgram(findProgram('mmdebstrap') ?? 'mmdebstrap', [...args, SUITE, partial], { timeout: 600_000 });
  if (ran.code !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`mmdebstrap ${args.join(' ')} ${SUITE} exited ${ran.code}: ${ran.stderr.slice(-2000)}`);
  }
  renameSync(partial, tar);
}

/** The base image (Node 20 and nats-server on Debian 13), built once and then reused. */
export async function ensureBaseImage(t: TestContext): Promise<string> {
  return withLock(`base-${KEY}`, async () => {
    if ((await podman(['image', 'exists', BASE_IMAGE], true)).code === 0) {
      t.diagnostic(`base image ${BASE_IMAGE} reused`);
      return BASE_IMAGE;
    }
    const tar = path.join(CACHE, `base-${KEY}.tar`);
    const started = Date.now();
    if (!existsSync(tar)) await mmdebstrap(['--variant=minbase', `--include=${PACKAGES.join(',')}`], tar);
    await podman(['import', '--quiet', tar, BASE_IMAGE]);
    t.diagnostic(`base image ${BASE_IMAGE} made in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return BASE_IMAGE;
  });
}

/**
 * The project's image as a user builds it: deploy/container/build-context.sh, then podman build
 * without network from the Containerfile, on `base`. Named `image`: the test removes it (after
 * its containers, so register that first).
 */
export async function buildProjectImage(t: TestContext, base: string, image: string): Promise<void> {
  const context = path.join(tempDir('cms-events-image-'), 'context');
  t.after(() => rmSync(path.dirname(context), { recursive: true, force: true }));
  const started = Date.now();
  const prepared = await runProgram(path.join(CONTAINERFILE_DIR, 'build-context.sh'), [context], { env: { ...process.env, NODE_OPTIONS: '' } });
  if (prepared.code !== 0) throw new Error(`build-context.sh exited ${prepared.code}: ${prepared.stderr.slice(-2000)}`);
  // --layers=false: no intermediate images. With them, the compose and container tests (run at
  // the same time) shared cached layers, and one test's removal of its image pulled a layer from
  // under the other's build ("layer not known").
  await podman(['build', '--quiet', '--layers=false', '--format', 'docker', '--network=none', '--build-arg', `BASE=${base}`, '--tag', image, context]);
  t.diagnostic(`image ${image} built in ${((Date.now() - started) / 1000).toFixed(1)} s (context included)`);
}

/** An image named `image` whose entrypoint is nats-server (from the base, which has the Debian package). */
export async function buildNatsImage(t: TestContext, base: string, image: string): Promise<void> {
  const dir = tempDir('cms-events-nats-image-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'Containerfile'), `FROM ${base}\nENTRYPOINT ["nats-server"]\n`);
  await podman(['build', '--quiet', '--layers=false', '--network=none', '--tag', image, dir]);
}

/** Removes images (their tags, and the layers no other image uses). */
export async function removeImages(images: string[]): Promise<void> {
  await podman(['rmi', '--force', '--ignore', ...images], true);
}

/** Removes containers (running or not) and the anonymous volumes they had. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await podman(['rm', '--force', '--volumes', '--time', '10', ...names], true);
}

/**
 * podman-compose 1.0.6 or later: the older ones (Debian 12 has 1.0.3) put every container on the
 * project's bridge network too, even with network_mode: host, which podman refuses. With an older
 * one installed, the test uses Debian 13's (1.3.0), taken from the archive with mmdebstrap's
 * extract variant and run by the system's python3 (its dependencies, python3-yaml and
 * python3-dotenv, come with the older package).
 */
export async function podmanCompose(t: TestContext): Promise<{ command: string[]; version: string }> {
  const installed = findProgram('podman-compose') ?? 'podman-compose';
  const said = await runProgram(installed, ['version']);
  const version = /podman-compose\w*\s+version\s+(\d+)\.(\d+)\.(\d+)/.exec(said.stdout + said.stderr);
  if (version && compareVersions(version.slice(1, 4).map(Number), [1, 0, 6]) >= 0) {
    return { command: [installed], version: version.slice(1, 4).join('.') };
  }
  const module = path.join(CACHE, `podman-compose-${SUITE}`, 'podman_compose.py');
  await withLock(`podman-compose-${SUITE}`, async () => {
    if (existsSync(module)) return;
    const tar = path.join(CACHE, `podman-compose-${SUITE}.tar`);
    if (!existsSync(tar)) await mmdebstrap(['--variant=extract', '--include=podman-compose'], tar);
    const dir = path.dirname(module);
    mkdirSync(dir, { recursive: true });
    const ran = await runProgram('tar', ['-xf', tar, '-C', dir, '--strip-components=5', './usr/lib/python3/dist-packages/podman_compose.py']);
    if (ran.code !== 0) throw new Error(`tar: ${ran.stderr}`);
  });
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const ran = await runProgram(python, [module, 'version']);
  const got = /podman-compose\s+version\s+(\d+\.\d+\.\d+)/.exec(ran.stdout + ran.stderr);
  if (!got) throw new Error(`Debian ${SUITE}'s podman-compose does not run here: ${ran.stdout}${ran.stderr}`);
  t.diagnostic(`podman-compose ${version ? version.slice(1, 4).join('.') : '(unknown version)'} cannot do network_mode: host; using Debian ${SUITE}'s ${got[1]}`);
  return { command: [python, module], version: got[1]! };
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
