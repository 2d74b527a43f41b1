// Taking a server over, once its lease is ours (README.md, "Running several instances"):
// 1. a takeover marker goes to the server's journal subject: what an earlier owner journals
//    after it is not replayed (it can no longer act: its lease is gone and its deadline passed);
// 2. the server's last published model is read;
// 3. the journal after that model, up to our marker, is replayed onto it: what the earlier
//    owner handed out after its last published model, which its sinks may have delivered;
//    what its owner marked as handed to the sinks (journal.ts, SETTLED_HEADER) is applied
//    quietly, only what follows the last such marker is announced again;
// 4. the result is what the server starts from: its first snapshot is reconciled against it
//    exactly as after an outage, and the replayed events go to the sinks again first (the same
//    ids: consumers de-duplicate on `id`), as after a kill -9 in single-process mode.
import { DeliverPolicy } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { ServerStart } from '../hub/ownership.js';
import { ServerState, replayEvents } from '../state/index.js';
import { JOURNAL_STREAM, journalSubject, type SharedObjects } from './buckets.js';
import { EPOCH_HEADER, GENERATION_HEADER, NatsJournal, SETTLED_HEADER, TAKEOVER_HEADER } from './journal.js';
import { decodePublished, type PublishedModel } from './published-model.js';

const READ_TIMEOUT_MS = 10_000;

export interface Takeover {
  start: ServerStart;
  journal: NatsJournal;
  /** The models bucket's revision of the model read (for the next write's compare-and-set); 0: none. */
  modelRevision: number;
}

export async function takeOver(shared: SharedObjects, server: string, key: string, epoch: number, log: Logger): Promise<Takeover> {
  const subject = journalSubject(key);
  const marker = headers();
  marker.set(TAKEOVER_HEADER, String(epoch));
  const markerSeq = (await shared.js.publish(subject, '', { headers: marker })).seq;

  let published: PublishedModel | undefined;
  let modelRevision = 0;
  const entry = await shared.models.get(key);
  if (entry !== null && entry.operation === 'PUT') {
    modelRevision = entry.revision;
    const decoded = decodePublished(entry.string(), server);
    if (decoded.ok) published = decoded.model;
    else log.error({ server, problem: decoded.problem }, `the published model of ${server} cannot be read (${decoded.problem}); the server is taken over without it`);
  } else if (entry !== null) modelRevision = entry.revision;

  const { lines, settled } = await readTail(shared, subject, published, markerSeq);
  // What an owner marked as handed to its sinks is taken into the model without being announced
  // again; only what follows its last settled marker is (it may not have reached the sinks).
  const quiet = replayEvents(published?.calls ?? [], lines.slice(0, settled));
  const replayed = replayEvents(quiet.calls, lines.slice(settled));
  const journal = new NatsJournal(shared.js, subject, epoch, markerSeq, log);
  let state: ServerState | undefined;
  if (published !== undefined || lines.length > 0) {
    state = new ServerState({ server });
    state.restore(replayed.calls);
    state.restoreExtras(published?.extras ?? {}, [...quiet.extraEvents, ...replayed.extraEvents]);
  }
  log.info(
    { server, epoch, calls: replayed.calls.length, settled, replayed: replayed.events.length, from: published ? `${published.owner} (epoch ${published.epoch})` : 'nothing published' },
    'server taken over: the published model and the journal after it are what the first snapshot is reconciled against',
  );
  return { start: { ...(state && { state }), replay: replayed.events, journal }, journal, modelRevision };
}

/**
 * The journal lines after `published`, before our marker, of the owner current at each point:
 * a line counts when its epoch is that of the latest takeover before it (an earlier owner's late
 * writes after a newer takeover do not), and, for the owner that published the model, when its
 * generation is newer than the model's.
 */
async function readTail(shared: SharedObjects, subject: string, published: PublishedModel | undefined, markerSeq: number): Promise<{ lines: string[]; settled: number }> {
  const from = published?.fromSeq ?? 1;
  if (from >= markerSeq) return { lines: [], settled: 0 };
  const consumer = await shared.js.consumers.get(JOURNAL_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
  const messages = await consumer.consume();
  const timer = setTimeout(() => messages.stop(), READ_TIMEOUT_MS);
  const lines: string[] = [];
  let current = published?.epoch ?? -1;
  let reached = false;
  /** How many of `lines` the current owner's last settled marker covers. */
  let settled = 0;
  try {
    for await (const message of messages) {
      if (message.seq >= markerSeq) {
        reached = true;
        break;
      }
      const takeover = message.headers?.get(TAKEOVER_HEADER);
      if (takeover) {
        current = Math.max(current, Number(takeover));
        continue;
      }
      const settledBy = message.headers?.get(SETTLED_HEADER);
      if (settledBy) {
        if (Number(settledBy) === current) settled = lines.length;
        continue;
      }
      const epoch = Number(message.headers?.get(EPOCH_HEADER));
      const generation = Number(message.headers?.get(GENERATION_HEADER));
      if (epoch !== current) continue;
      if (published !== undefined && epoch === published.epoch && generation <= published.generation) continue;
      lines.push(message.string());
    }
  } finally {
    clearTimeout(timer);
    messages.stop();
  }
  if (!reached) throw new Error(`reading the journal of ${subject} did not reach the takeover marker within ${READ_TIMEOUT_MS} ms`);
  return { lines, settled };
}
