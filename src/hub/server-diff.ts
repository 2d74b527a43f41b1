// Compares two sets of server targets by name, so a change to the list restarts only the
// servers that actually changed and leaves the others' feeds untouched.
import type { ServerTarget } from '../session/types.js';

export interface ServerDiff {
  added: ServerTarget[];
  removed: string[];
  changed: ServerTarget[];
}

/** Every field that affects a connection, in a fixed order, so equal targets compare equal. */
const fingerprintOf = (t: ServerTarget) =>
  JSON.stringify([t.host, t.port, t.username, t.password, t.tls?.ca, t.tls?.fingerprint, t.tls?.insecure, t.plain, t.elements]);

export function diffServers(current: ReadonlyMap<string, ServerTarget>, next: readonly ServerTarget[]): ServerDiff {
  const diff: ServerDiff = { added: [], removed: [], changed: [] };
  const nextNames = new Set<string>();
  for (const target of next) {
    nextNames.add(target.name);
    const existing = current.get(target.name);
    if (!existing) diff.added.push(target);
    else if (fingerprintOf(existing) !== fingerprintOf(target)) diff.changed.push(target);
  }
  for (const name of current.keys()) if (!nextNames.has(name)) diff.removed.push(name);
  return diff;
}
