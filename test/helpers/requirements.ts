// Tests that need a real program (redis-server, nats-server, Chromium, systemd-analyze, podman, …) ask for it here, so that
// all of them follow one policy:
//   - under .ci/run, which installs the programs and sets CMS_EVENTS_REQUIRE_SERVERS=1, a missing
//     one fails the run (one failing test that names it and says how to install it);
//   - on a developer's machine without it, the tests that need it are skipped with node:test's
//     skip, the reason naming what is missing and the install command.
// Either way nothing throws in the middle of a run, and nothing passes without having run.
//
// CMS_EVENTS_PRETEND_MISSING=redis-server,chromium treats the named programs as absent, so both
// outcomes can be tried on a machine that has everything.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

export type Program = 'redis-server' | 'nats-server' | 'chromium' | 'systemd-analyze' | 'podman' | 'runc' | 'mmdebstrap' | 'podman-compose';

/** Debian package names; fonts-dejavu-core gives headless Chromium fonts to render text with. */
const INSTALL: Record<Program, string> = {
  'redis-server': 'apt-get install redis-server',
  'nats-server': 'apt-get install nats-server',
  chromium: 'apt-get install chromium fonts-dejavu-core',
  'systemd-analyze': 'apt-get install systemd',
  podman: 'apt-get install podman',
  runc: 'apt-get install runc',
  mmdebstrap: 'apt-get install mmdebstrap',
  'podman-compose': 'apt-get install podman-compose',
};

/**
 * Searched after PATH: Debian installs nats-server in /usr/sbin, which is not on every user's
 * PATH. startRedis/startNats (helpers/sinks.ts) look in the same places.
 */
const ALSO_SEARCHED = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

export const REQUIRE_VARIABLE = 'CMS_EVENTS_REQUIRE_SERVERS';
export const PRETEND_VARIABLE = 'CMS_EVENTS_PRETEND_MISSING';

/** Where `name` is installed, or undefined. */
export function findProgram(name: Program): string | undefined {
  const pretend = (process.env[PRETEND_VARIABLE] ?? '').split(',').map((s) => s.trim());
  if (pretend.includes(name)) return undefined;
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), ...ALSO_SEARCHED]) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface Requirements {
  /** For node:test's `skip` option: false when every program is there, otherwise why not. */
  readonly skip: string | false;
  /** Where a program was found; only valid when `skip` is false. */
  path(name: Program): string;
}

/**
 * Checks for the programs a test file needs. Call it once at the top of the file and pass
 * `skip` to every test (or describe) that needs them.
 */
export function requirePrograms(...names: Program[]): Requirements {
  const found = new Map<Program, string>();
  const missing: Program[] = [];
  for (const name of names) {
    const at = findProgram(name);
    if (at === undefined) missing.push(name);
    else found.set(name, at);
  }
  const reason =
    missing.length === 0
      ? false
      : missing.map((name) => `${name} not found; install it with: ${INSTALL[name]}`).join('; ');
  if (reason && process.env[REQUIRE_VARIABLE] === '1') {
    // The tests that need it are skipped all the same: the run reports the missing program once,
    // here, rather than as a crash inside each test.
    // node --test runs each file in a process of its own: argv[1] names the file that asked.
    const file = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : 'this file';
    test(`programs needed by ${file} are installed (${names.join(', ')})`, () => {
      throw new Error(`${reason} (${REQUIRE_VARIABLE}=1, as set by .ci/run, makes a missing program a failure)`);
    });
  }
  return {
    skip: reason,
    path(name) {
      const at = found.get(name);
      if (at === undefined) throw new Error(`${name} was not checked for, or is missing: ${String(reason)}`);
      return at;
    },
  };
}
