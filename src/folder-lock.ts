// One folder, one owner: two sinks or two daemons on one spool folder would interleave records
// and delete segments the other still needs; two daemons on one state folder would each
// overwrite the other's models. The lock is the file `<dir>/lock`, created exclusively (open
// 'wx') with the holder's pid, host name and boot id, and removed on release.
//
// A lock that is there already is taken over when its holder cannot be running any more:
//   - same host and boot, and no process has its pid (kill(pid, 0) fails with ESRCH), or the
//     pid is our own (a previous process that had our pid, as a container's daemon often does);
//   - another boot of this host: its pid may since belong to anything;
//   - another host name: its pid cannot be checked from here. A container re-created with a new
//     host name over the same volume must not be locked out for good; the price is that a folder
//     on a network share, used by two machines at once, is not protected.
// Otherwise opening is refused with an error that names the folder and the holder. A lock that
// cannot be read (another process is writing it this instant) counts as held.
import { readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  /** Kernel boot id (Linux), '' where there is none. */
  boot: string;
  since: string;
}

/** What the folder is to its owner, for the messages: how it is named and how to give another one. */
export interface FolderRole {
  /** e.g. 'spool folder', 'state folder'. */
  name: string;
  /** The setting that picks another folder, e.g. 'spoolDir'. */
  setting: string;
}

export class FolderLockedError extends Error {
  override readonly name = 'FolderLockedError';
  constructor(
    readonly dir: string,
    readonly holder: LockHolder | null,
    reason: string,
    role: FolderRole,
  ) {
    super(`${role.name} ${dir} ${reason}; two daemons must not share a ${role.name}: stop the other one or give this one another ${role.setting}`);
  }
}

export interface FolderLock {
  release(): Promise<void>;
}

/** Folders locked by this process: a second owner of one of them is refused before the file is looked at. */
const heldHere = new Set<string>();

/** Locks `dir` (which exists) for this process, or throws FolderLockedError. */
export async function lockFolder(dir: string, role: FolderRole): Promise<FolderLock> {
  if (heldHere.has(dir)) throw new FolderLockedError(dir, null, 'is already used by another part of this process', role);
  heldHere.add(dir);
  const file = path.join(dir, 'lock');
  const body = JSON.stringify({ pid: process.pid, host: os.hostname(), boot: bootId(), since: new Date().toISOString() } satisfies LockHolder);
  try {
    await createOrTakeOver(dir, file, body, role);
  } catch (error) {
    heldHere.delete(dir);
    throw error;
  }
  return {
    async release() {
      heldHere.delete(dir);
      // Only our own lock: had it been taken over (see the header), the file is the new holder's.
      const current = await readFile(file, 'utf8').catch(() => null);
      if (current === body) await unlink(file).catch(() => {});
    },
  };
}

async function createOrTakeOver(dir: string, file: string, body: string, role: FolderRole): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const fh = await open(file, 'wx');
      try {
        await fh.writeFile(body);
      } finally {
        await fh.close();
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = await readFile(file, 'utf8').catch(() => '');
    const holder = parseHolder(text);
    if (holder === null) throw new FolderLockedError(dir, null, `is locked (${file} is being written or is damaged; delete it if no daemon uses the folder)`, role);
    if (!isStale(holder) || attempt >= 2) {
      throw new FolderLockedError(dir, holder, `is locked by another process (pid ${holder.pid} on ${holder.host}, since ${holder.since})`, role);
    }
    // Remove the stale lock only if it is still the one judged stale, then create ours.
    if ((await readFile(file, 'utf8').catch(() => '')) === text) await unlink(file).catch(() => {});
  }
}

function isStale(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return true;
  const boot = bootId();
  if (holder.boot !== '' && boot !== '' && holder.boot !== boot) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    // EPERM: alive, but another user's.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (!Number.isSafeInteger(value.pid) || (value.pid as number) <= 0 || typeof value.host !== 'string') return null;
    return { pid: value.pid as number, host: value.host, boot: typeof value.boot === 'string' ? value.boot : '', since: String(value.since ?? '?') };
  } catch {
    return null;
  }
}

let cachedBootId: string | undefined;
function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = '';
    }
  }
  return cachedBootId;
}
