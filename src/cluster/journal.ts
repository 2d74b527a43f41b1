// A server's journal in cluster mode: every line its owner hands to the sinks is first published
// to the server's subject of the journal stream, tagged with the owner's epoch and the
// generation of the model it goes into. A published model names the generation it includes and
// the first stream sequence that may hold anything it does not; the next owner replays what
// lies after it (src/cluster/takeover.ts). The counterpart of the state folder's journal
// (hub/model-journal.ts), in NATS so that another machine can read it.
//
// Publishes are not awaited on the message path (the CMS has its ack already): nats.js writes
// them to the connection in call order. The pipeline hands a message's events to the sinks once
// NATS confirmed its lines (hub/server-pipeline.ts): a line written to the socket is not yet in
// the stream, and NATS going down then loses it. A refused line ends this owner's term for the
// server (`onRefused`): it is taken over afresh from what NATS holds.
import { headers } from '@nats-io/nats-core';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { EventJournal } from '../hub/server-pipeline.js';

export const EPOCH_HEADER = 'Cms-Events-Epoch';
export const GENERATION_HEADER = 'Cms-Events-Generation';
export const TAKEOVER_HEADER = 'Cms-Events-Takeover';
/**
 * A header-only line saying that everything its owner journaled before it was handed to the
 * sinks (the same claim a published model makes, far more often): a takeover replays only what
 * follows the last such marker. Without it, an owner cut off from NATS while alive (an outage)
 * had everything after its last published model announced again, same ids, by the next owner.
 */
export const SETTLED_HEADER = 'Cms-Events-Settled';

export class NatsJournal implements EventJournal {
  readonly #js: JetStreamClient;
  readonly #subject: string;
  readonly #epoch: string;
  readonly #log: Logger;
  #generation = 0;
  /** The highest sequence NATS confirmed for this journal: everything up to it is in a generation already counted. */
  #acked: number;
  /** Asked before a settled marker is written: everything applied was handed to the sinks. */
  #settled: (() => boolean) | undefined;
  #markPending = false;
  #onRefused: (() => void) | undefined;
  #refused = false;

  /** `startSeq`: the takeover marker's sequence (nothing of this owner lies before it). */
  constructor(js: JetStreamClient, subject: string, epoch: number, startSeq: number, log: Logger) {
    this.#js = js;
    this.#subject = subject;
    this.#epoch = String(epoch);
    this.#acked = startSeq;
    this.#log = log;
  }

  get generation(): number {
    return this.#generation;
  }

  /** From now on, lines handed out are followed (once per turn) by a settled marker when `settled()` says so. */
  markSettled(settled: () => boolean): void {
    this.#settled = settled;
  }

  /** Called once, the first time NATS refuses a line (its events never reached a sink). */
  onRefused(callback: () => void): void {
    this.#onRefused = callback;
  }

  /** Resolves once NATS holds every line; rejects if it refused one. */
  append(lines: readonly string[]): Promise<void> {
    const h = headers();
    h.set(EPOCH_HEADER, this.#epoch);
    h.set(GENERATION_HEADER, String(this.#generation));
    const written: Promise<void>[] = [];
    for (const line of lines) {
      written.push(
        this.#js.publish(this.#subject, line, { headers: h }).then(
          (ack) => {
            if (ack.seq > this.#acked) this.#acked = ack.seq;
          },
          (error: unknown) => {
            // The first refusal ends this owner's term: said once, and nothing of the term after it counts.
            if (!this.#refused) {
              this.#refused = true;
              this.#log.error({ error: (error as Error).message }, 'writing the journal to NATS failed: these events are left to the next owner of the server');
              this.#onRefused?.();
            }
            throw error;
          },
        ),
      );
    }
    const all = written.length === 1 ? written[0]! : Promise.all(written).then(() => undefined);
    // The pipeline hands these lines to the sinks once NATS holds them: a turn later, the marker
    // says so (unless more waits, or a sink is full: then a later confirmation writes it).
    // Publishes keep their order on the connection, so the marker follows the lines.
    all.then(() => this.#markLater(), () => undefined);
    return all;
  }

  #markLater(): void {
    if (this.#settled === undefined || this.#markPending) return;
    this.#markPending = true;
    setImmediate(() => {
      this.#markPending = false;
      if (this.#settled?.() !== true) return;
      const marker = headers();
      marker.set(SETTLED_HEADER, this.#epoch);
      this.#js.publish(this.#subject, '', { headers: marker }).catch(() => undefined);
    });
  }

  /**
   * A model is about to be published: what it includes is everything journaled so far. Returns
   * the generation it includes and the first sequence that may hold something it does not.
   */
  rotate(): { generation: number; fromSeq: number } {
    const covered = { generation: this.#generation, fromSeq: this.#acked + 1 };
    this.#generation++;
    return covered;
  }
}
