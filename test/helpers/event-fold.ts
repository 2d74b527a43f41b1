// What the state tests read back from a daemon: its events as comparable lines, the stored model
// files, and the fold that checks "every join gets exactly one leave" over the stdout of several
// runs of the daemon, some of them killed -9.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isCallEvent, type CmsEvent } from '../../src/state/events.js';
import type { Daemon } from './daemon.js';

/** One event as a comparable line: type, ids, synthetic flag and, where there is one, reason or changes. */
export function line(event: CmsEvent): string {
  const parts: string[] = [event.type];
  if ('meetingId' in event) parts.push(event.meetingId);
  if (isCallEvent(event)) parts.push(event.callId);
  if (isCallEvent(event) && 'participantId' in event) parts.push(event.participantId);
  if (event.synthetic === true) parts.push('synthetic');
  if ((event.type === 'participant.left' || event.type === 'call.ended') && event.reason !== undefined) parts.push(`reason=${event.reason}`);
  if (event.type === 'participant.updated' || event.type === 'call.updated') {
    parts.push(`changes=${JSON.stringify(Object.fromEntries(Object.entries(event.changes).sort(([a], [b]) => a.localeCompare(b))))}`);
  }
  return parts.join(' ');
}

/** The events about calls and participants (server.* and meeting.* left out: meetings have tests of their own). */
export const callEvents = (events: readonly CmsEvent[]) => events.filter(isCallEvent);

/** `<stateDir>/servers/<encodeURIComponent(name)>.json` */
export const modelFile = (stateDir: string, server: string) => path.join(stateDir, 'servers', `${encodeURIComponent(server)}.json`);

export interface StoredModelFile {
  version: number;
  server: string;
  savedAt: string;
  calls: Array<{ call: Record<string, unknown> & { id: string }; roster: Array<Record<string, unknown> & { id: string }> }>;
}

/** The stored model of `server`, or undefined when there is none (or it is being replaced). */
export async function readModel(stateDir: string, server: string): Promise<StoredModelFile | undefined> {
  try {
    return JSON.parse(await readFile(modelFile(stateDir, server), 'utf8')) as StoredModelFile;
  } catch {
    return undefined;
  }
}

export async function listServerFiles(stateDir: string): Promise<string[]> {
  return (await readdir(path.join(stateDir, 'servers'))).sort();
}

/** A model as a comparable value: calls and rosters sorted by id. */
export function canonical(calls: ReadonlyArray<{ id: string; roster: ReadonlyArray<{ id: string }> }>): unknown {
  const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
  return [...calls].sort(byId).map((call) => ({ ...call, roster: [...call.roster].sort(byId) }));
}

/** The stored model's calls in the API's shape (a call's fields with its roster). */
export const storedAsApi = (model: StoredModelFile) => model.calls.map(({ call, roster }) => ({ ...call, roster }));

/** One event of one run, with the time the test read it from the run's stdout. */
export interface Stamped {
  event: CmsEvent;
  run: number;
  at: number;
}

/** Time-stamps every event `daemon` prints from now on (after the helper parsed it). */
export function stamp(daemon: Daemon, run: number, into: Stamped[]): void {
  let seen = daemon.events.length;
  daemon.child.stdout!.on('data', () => {
    const at = Date.now();
    for (; seen < daemon.events.length; seen++) into.push({ event: daemon.events[seen]!, run, at });
  });
}

export interface FoldReport {
  /** Keys (participants or calls) seen. */
  keys: number;
  opens: number;
  closes: number;
  /** An open after an open, or a close after a close, within the allowed interval before a kill. */
  repeatedOpens: number;
  repeatedCloses: number;
  /**
   * Events printed again with the same id (a restart hands the journal's events to the sinks
   * again); a consumer that de-duplicates on the id, as the README asks, sees each once.
   */
  replayed: number;
  /** Of the allowed repeats, the longest time between the first one and its run's kill (ms). */
  longestRepeatBeforeKillMs: number;
  /** Everything that breaks the promise, one sentence each. */
  failures: string[];
  /** The calls (`server callId`) those failures are about, to show their story. */
  failedCalls: Set<string>;
  /**
   * Opens never closed whose open was the last thing any run said about them, printed by a run
   * killed at most `windowMs` later: joined (started) after the last model write, so absent from
   * the stored model, and gone from the world before the next run's first snapshot. Kept apart
   * from `failures` (they are failures too) so that a test can tell this one hole from the rest.
   */
  lostCloses: string[];
}

export interface FoldOptions {
  /** participant.joined/left per (server, call, participant), call.started/ended per (server, call), or meeting.started/ended per meeting id. */
  kind: 'participant' | 'call' | 'meeting';
  /** When each run was killed -9 (undefined: it was not). */
  killedAt: ReadonlyArray<number | undefined>;
  /** How long before its kill a run's events may be repeated by the next run. */
  windowMs: number;
  /**
   * The runs are instances running side by side (cluster mode), not one after the other: a
   * repeat may come from any other instance (the one that took the server over).
   */
  concurrent?: boolean;
}

/**
 * Folds the stdout of several runs, in order, each event id once: every open (join, start) is matched by exactly one
 * close (leave, end), nothing is open at the end, nothing is closed that was not opened. An open
 * repeated (open, open) or a close repeated is allowed only when the first of the two was
 * written by a run that was then killed, at most `windowMs` before its kill, and the second by a
 * later run: the stored model lags the events by at most one write interval.
 */
export function foldPresence(records: readonly Stamped[], options: FoldOptions): FoldReport {
  const [openType, closeType] = ({ participant: ['participant.joined', 'participant.left'], call: ['call.started', 'call.ended'], meeting: ['meeting.started', 'meeting.ended'] } as const)[options.kind];
  const keyOf = (e: CmsEvent) =>
    'meetingId' in e ? `meeting ${e.meetingId}` : `${e.server} ${'callId' in e ? e.callId : ''}${options.kind === 'participant' && 'participantId' in e ? ` ${e.participantId}` : ''}`;
  const last = new Map<string, Stamped>();
  const report: FoldReport = { keys: 0, opens: 0, closes: 0, replayed: 0, repeatedOpens: 0, repeatedCloses: 0, longestRepeatBeforeKillMs: 0, failures: [], failedCalls: new Set(), lostCloses: [] };
  const repeatAllowed = (first: Stamped, second: Stamped): string | undefined => {
    const killedAt = options.killedAt[first.run];
    if (killedAt === undefined) return `the first was written by run ${first.run}, which was not killed`;
    if (options.concurrent ? second.run === first.run : second.run <= first.run) return `both were written by run ${first.run}`;
    const before = killedAt - first.at;
    if (before > options.windowMs) return `the first was written ${before} ms before run ${first.run} was killed (allowed: ${options.windowMs} ms)`;
    report.longestRepeatBeforeKillMs = Math.max(report.longestRepeatBeforeKillMs, before);
    return undefined;
  };
  const fail = (record: Stamped, sentence: string) => {
    report.failures.push(sentence);
    if ('callId' in record.event) report.failedCalls.add(`${record.event.server} ${record.event.callId}`);
  };
  const byId = new Map<string, Stamped>();
  for (const record of records) {
    const { event } = record;
    if (event.type !== openType && event.type !== closeType) continue;
    // The same event again (same id): allowed only from the last interval of a killed run.
    const first = byId.get(event.id);
    if (first !== undefined) {
      const problem = repeatAllowed(first, record);
      if (problem === undefined) report.replayed++;
      else fail(record, `${event.type} ${event.id} (run ${record.run}) printed again: ${problem}`);
      continue;
    }
    byId.set(event.id, record);
    const key = keyOf(event);
    const previous = last.get(key);
    if (previous === undefined) report.keys++;
    const what = `${event.type} of ${key} (run ${record.run})`;
    if (event.type === openType) {
      if (previous?.event.type === openType) {
        const problem = repeatAllowed(previous, record);
        if (problem === undefined) report.repeatedOpens++;
        else fail(record, `${what} repeats the one of run ${previous.run}: ${problem}`);
      } else {
        report.opens++;
        if (previous !== undefined) fail(record, `${what} after it was closed: a second life of the same id`);
      }
    } else if (previous === undefined) {
      fail(record, `${what} without an open before it (the open was lost)`);
    } else if (previous.event.type === closeType) {
      const problem = repeatAllowed(previous, record);
      if (problem === undefined) report.repeatedCloses++;
      else fail(record, `${what} repeats the one of run ${previous.run}: ${problem}`);
    } else {
      report.closes++;
    }
    last.set(key, record);
  }
  for (const [key, record] of last) {
    if (record.event.type !== openType) continue;
    const sentence = `${openType} of ${key} (run ${record.run}) never got its ${closeType}`;
    const killedAt = options.killedAt[record.run];
    if (killedAt !== undefined && killedAt - record.at <= options.windowMs) report.lostCloses.push(`${sentence}; printed ${killedAt - record.at} ms before run ${record.run} was killed`);
    else fail(record, sentence);
  }
  return report;
}
