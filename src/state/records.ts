// What the model keeps per call and per participant, beside their state: the generations that
// reconciliation compares (server-state.ts) and the shared frozen view of a call.
import type { CallState, ParticipantState } from './events.js';

export interface ParticipantRecord {
  state: ParticipantState;
  /** Generation in which the roster subscription last announced this participant. */
  confirmedIn: number;
}

export interface CallRecord {
  state: CallState;
  /**
   * A frozen copy of `state` that every event shares until the call changes (then it is
   * dropped and the next event makes a new one). Sharing lets the line serialiser reuse the
   * call's JSON (event-line.ts); freezing keeps a handler from changing other events.
   */
  view: Readonly<CallState> | undefined;
  roster: Map<string, ParticipantRecord>;
  /** Generation in which the call was first seen. */
  bornIn: number;
  /** Generation in which the calls subscription (or callInfo) last announced this call. */
  confirmedIn: number;
  /** Generation of the last callInfoUpdate; -1 before the first. */
  infoIn: number;
}
