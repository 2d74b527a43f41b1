// The NATS sink in cluster mode: all instances write one stream, and a deposed owner's late
// writes are refused by the stream itself (README.md, "Running several instances"). Each event
// carries the epoch of the lease it was produced under (the spool keeps it); per server, the
// subject `<subject>.<server>.owner` holds one record per epoch, written with compare-and-set
// on that subject's last sequence, so epochs only ever go up there. Then every event publish
// names what it expects, and NATS refuses it once a newer owner has written:
// - on nats-server 2.11 and later, the owner record's sequence on the owner subject
//   (`Nats-Expected-Last-Subject-Sequence-Subject`): publishes are pipelined as usual;
// - before 2.11 (which ignores that header), each event subject's own last sequence: a new owner
//   first puts a marker on each of the server's event subjects, and events are published one at
//   a time, each expecting the sequence the previous one got on its subject.
// A publish refused that way means a newer owner exists: the rest of that epoch's events are
// dropped (counted), since the newer owner reconciled from what was published and announces
// the difference itself. `Nats-Msg-Id` (the event id) still removes retried duplicates, and NATS
// checks it before the expectation, so a retry of an accepted publish is never refused.
import { headers } from '@nats-io/nats-core';
import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import { EVENT_TYPES } from '../state/events.js';
import type { SpoolRecord } from './spool/index.js';

const WRONG_LAST_SEQUENCE = 10071;
const NO_MESSAGE_FOUND = 10037;
export const OWNER_EPOCH_HEADER = 'Cms-Events-Epoch';
export const TAKEOVER_MARK_HEADER = 'Cms-Events-Takeover';

/** True for servers whose publish expectations can name another subject (2.11.0 and later). */
export function supportsOwnerSubject(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? '').split('.').map((part) => Number.parseInt(part, 10));
  return major > 2 || (major === 2 && minor >= 11);
}

interface EpochFence {
  epoch: number;
  /** The owner record's sequence (2.11+). */
  ownerSeq: number;
  /** Each event subject's last sequence as this owner knows it (before 2.11). */
  lastSeq: Map<string, number>;
}

export type FencedOutcome = { kind: 'published' } | { kind: 'fenced' };

export class NatsFence {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #subject: string;
  readonly #token: (server: string) => string;
  readonly #ownerSubject: boolean;
  readonly #timeoutMs: number;
  /** Per server: the epoch this instance writes under, once established. */
  readonly #fences = new Map<string, EpochFence>();
  /** Per server: the highest epoch known to be deposed (its events are dropped). */
  readonly #deposed = new Map<string, number>();
  /** Events dropped because a newer owner had written. */
  fenced = 0;

  constructor(parts: { js: JetStreamClient; jsm: JetStreamManager; stream: string; subject: string; token: (server: string) => string; serverVersion: string | undefined; timeoutMs: number }) {
    this.#js = parts.js;
    this.#jsm = parts.jsm;
    this.#stream = parts.stream;
    this.#subject = parts.subject;
    this.#token = parts.token;
    this.#ownerSubject = supportsOwnerSubject(parts.serverVersion);
    this.#timeoutMs = parts.timeoutMs;
  }

  /** Whether the owner-subject form is used (2.11+), else the per-subject chain. */
  get ownerSubjectMode(): boolean {
    return this.#ownerSubject;
  }

  /**
   * Publishes `records` in order, fenced by their epochs; resolves with how many were handled
   * (published or dropped as fenced) before the first failure, which it throws.
   */
  async publish(records: readonly SpoolRecord[]): Promise<void> {
    if (this.#ownerSubject) {
      // Establish every epoch first (in order), then pipeline.
      const acks: Promise<PubAck | undefined>[] = [];
      for (const record of records) {
        const fence = await this.#fenceFor(record);
        if (fence === undefined) {
          this.fenced++;
          acks.push(Promise.resolve(undefined));
          continue;
        }
        acks.push(this.#send(record, { lastSubjectSequence: fence.ownerSeq, lastSubjectSequenceSubject: this.#ownerSubjectOf(record.server) }).catch((error: unknown) => this.#refused(record, error)));
      }
      await Promise.all(acks);
      return;
    }
    for (const record of records) {
      const fence = await this.#fenceFor(record);
      if (fence === undefined) {
        this.fenced++;
        continue;
      }
      const subject = this.#eventSubject(record.server, record.type);
      try {
        const ack = await this.#send(record, { lastSubjectSequence: fence.lastSeq.get(subject) ?? 0 });
        fence.lastSeq.set(subject, ack.seq);
      } catch (error) {
        await this.#refused(record, error);
      }
    }
  }

  #ownerSubjectOf(server: string): string {
    return `${this.#subject}.${this.#token(server)}.owner`;
  }

  #eventSubject(server: string, type: string): string {
    return `${this.#subject}.${this.#token(server)}.${type}`;
  }

  #send(record: SpoolRecord, expect: { lastSubjectSequence: number; lastSubjectSequenceSubject?: string }): Promise<PubAck> {
    return this.#js.publish(this.#eventSubject(record.server, record.type), record.line, {
      msgID: record.id,
      timeout: this.#timeoutMs,
      expect: { streamName: this.#stream, ...expect },
    });
  }

  /** A refused publish: a newer owner wrote, so this epoch is over (dropped, counted); anything else is thrown. */
  async #refused(record: SpoolRecord, error: unknown): Promise<undefined> {
    if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE)) throw error;
    const epoch = record.epoch ?? 0;
    this.#deposed.set(record.server, Math.max(this.#deposed.get(record.server) ?? 0, epoch));
    if (this.#fences.get(record.server)?.epoch === epoch) this.#fences.delete(record.server);
    this.fenced++;
    return undefined;
  }

  /** The fence to publish `record` under; undefined when its epoch is deposed. Records without an epoch are not fenced. */
  async #fenceFor(record: SpoolRecord): Promise<EpochFence | undefined> {
    const epoch = record.epoch ?? 0;
    if (epoch <= (this.#deposed.get(record.server) ?? 0) && record.epoch !== undefined) return undefined;
    const known = this.#fences.get(record.server);
    if (known !== undefined && known.epoch === epoch) return known;
    if (known !== undefined && known.epoch > epoch) return undefined;
    return this.#establish(record.server, epoch);
  }

  /** Writes the owner record of `epoch` (compare-and-set), and before 2.11 the markers; undefined when a newer epoch is there. */
  async #establish(server: string, epoch: number): Promise<EpochFence | undefined> {
    const ownerSubject = this.#ownerSubjectOf(server);
    for (let attempt = 0; attempt < 5; attempt++) {
      const last = await this.#last(ownerSubject);
      const lastEpoch = last === undefined ? 0 : Number(last.header ?? 0);
      if (lastEpoch > epoch) {
        this.#deposed.set(server, Math.max(this.#deposed.get(server) ?? 0, epoch));
        return undefined;
      }
      let ownerSeq = last?.seq ?? 0;
      if (lastEpoch < epoch || last === undefined) {
        try {
          const h = headers();
          h.set(OWNER_EPOCH_HEADER, String(epoch));
          ownerSeq = (await this.#js.publish(ownerSubject, '', { headers: h, timeout: this.#timeoutMs, expect: { streamName: this.#stream, lastSubjectSequence: last?.seq ?? 0 } })).seq;
        } catch (error) {
          if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) continue; // someone wrote meanwhile: read again
          throw error;
        }
      }
      const fence: EpochFence = { epoch, ownerSeq, lastSeq: new Map() };
      if (!this.#ownerSubject && !(await this.#mark(server, epoch, fence))) continue;
      this.#fences.set(server, fence);
      return fence;
    }
    throw new Error(`cannot establish epoch ${epoch} of ${server} in stream ${this.#stream}: its owner subject keeps changing`);
  }

  /** Before 2.11: a marker on each of the server's event subjects, so that older owners' next publishes there are refused. */
  async #mark(server: string, epoch: number, fence: EpochFence): Promise<boolean> {
    for (const type of EVENT_TYPES) {
      const subject = this.#eventSubject(server, type);
      const last = await this.#last(subject);
      const h = headers();
      h.set(TAKEOVER_MARK_HEADER, String(epoch));
      try {
        const ack = await this.#js.publish(subject, '', { headers: h, timeout: this.#timeoutMs, expect: { streamName: this.#stream, lastSubjectSequence: last?.seq ?? 0 } });
        fence.lastSeq.set(subject, ack.seq);
      } catch (error) {
        if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) return false;
        throw error;
      }
    }
    return true;
  }

  async #last(subject: string): Promise<{ seq: number; header: string | undefined } | undefined> {
    try {
      const message = await this.#jsm.streams.getMessage(this.#stream, { last_by_subj: subject });
      if (message === null) return undefined;
      return { seq: message.seq, header: message.header?.get(OWNER_EPOCH_HEADER) || undefined };
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === NO_MESSAGE_FOUND) return undefined;
      throw error;
    }
  }
}
