// What one server's CDRs have announced (README.md, "Call detail records"): a pure reducer from
// parsed CDR documents to cdr.* events, exactly once each. A CMS re-sends every record it got no
// 200 for, so a record is announced only if its (session, recordIndex) was not announced before;
// the marks are kept per session (a new session is a restarted bridge, whose recordIndex starts
// again at 1). Records lack ids their leg had earlier (a callLegEnd has neither `groupId` nor
// `call`), so the ids each leg, recording and stream showed are remembered until it ends and
// given to its later records. All of it is kept with the server's model (stored-model.ts), so a
// restart or a takeover announces nothing again and still knows the ids.
import { isCdrEvent, type CdrGapEvent, type CdrRecordEvent, type CdrValue, type CmsEvent } from './events.js';
import { isoTime } from './iso-time.js';

/** One record as the CMS sent it (cdr/parse.ts reads them from a POST body). */
export interface CdrRecord {
  /** callStart, callLegEnd, … (any type a CMS sends, known or not). */
  type: string;
  /** RFC 3339 as the CMS wrote it. */
  time: string;
  recordIndex: number;
  correlatorIndex: number | null;
  /** Records the CMS had to discard just before this one (0: none). */
  missingBefore: number;
  /** The child element's name (call, callLeg, recording, streaming) and its id. */
  element: string;
  elementId: string;
  fields: Record<string, CdrValue>;
}

/** One POST body: the `<records>` envelope and its records, in order. */
export interface CdrDocument {
  session: string;
  callBridge: string | null;
  records: CdrRecord[];
}

/** The ids a leg, recording or stream showed in its records so far. */
interface KnownIds {
  callId?: string;
  participantId?: string;
  callLegId?: string;
}

/** The announced records of one session: every index up to `upTo`, and those in `above`. */
interface SessionMark {
  session: string;
  upTo: number;
  above: number[];
}

/** What is kept across restarts and takeovers. */
export interface StoredCdr {
  /** Newest session last. */
  sessions: SessionMark[];
  /** By element id (leg, recording or stream), oldest first. */
  known: Array<[string, KnownIds]>;
}

/** Sessions remembered: a bridge restarting this often within one delivery is already far-fetched. */
const MAX_SESSIONS = 4;
/** Indexes kept above the contiguous mark (records that came out of order) before the mark jumps over a hole. */
const MAX_ABOVE = 1_000;
/**
 * Legs, recordings and streams whose ids are remembered; the oldest go first. A leg whose end was
 * never received (discarded by the CMS: a gap) stays until then. Well above what one CMS carries
 * at once (a few thousand legs), and kept small because the list is in the stored model, which is
 * written every second while records come (10,000 entries: about 1.7 MB).
 */
export const MAX_KNOWN = 10_000;

const text = (value: CdrValue | undefined): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export interface CdrLedgerOptions {
  server: string;
  now: () => number;
  newEventId: () => string;
}

export class CdrLedger {
  readonly #options: CdrLedgerOptions;
  readonly #sessions: SessionMark[] = [];
  readonly #known = new Map<string, KnownIds>();

  constructor(options: CdrLedgerOptions) {
    this.#options = options;
  }

  /** The events of the records not announced yet, in the document's order (a gap just before its record). */
  apply(document: CdrDocument): CmsEvent[] {
    const ts = isoTime(this.#options.now());
    const events: CmsEvent[] = [];
    for (const record of document.records) {
      const mark = this.#mark(document.session);
      if (isAnnounced(mark, record.recordIndex)) continue;
      note(mark, record.recordIndex);
      const base = { ts, server: this.#options.server, session: document.session, recordIndex: record.recordIndex, recordTime: record.time };
      if (record.missingBefore > 0) {
        const gap: CdrGapEvent = { id: this.#options.newEventId(), type: 'cdr.gap', ...base, missing: record.missingBefore };
        events.push(gap);
      }
      events.push(this.#recordEvent(record, document, base));
    }
    return events;
  }

  /** Takes in an event this ledger (or an earlier run's) produced: journal replay, another owner's events. */
  fold(event: CmsEvent): void {
    if (!isCdrEvent(event) || typeof (event as { session?: unknown }).session !== 'string') return;
    const { session, recordIndex } = event as CdrRecordEvent;
    if (!Number.isSafeInteger(recordIndex)) return;
    note(this.#mark(session), recordIndex);
    if (event.type !== 'cdr.gap') this.#learn(event as CdrRecordEvent);
  }

  stored(): StoredCdr {
    return {
      sessions: this.#sessions.map((mark) => ({ ...mark, above: [...mark.above] })),
      known: [...this.#known].map(([id, ids]) => [id, { ...ids }]),
    };
  }

  /** Takes over what an earlier run (or owner) announced. */
  restore(stored: StoredCdr | undefined): void {
    if (stored === undefined) return;
    this.#sessions.length = 0;
    for (const mark of stored.sessions.slice(-MAX_SESSIONS)) this.#sessions.push({ ...mark, above: [...mark.above] });
    this.#known.clear();
    for (const [id, ids] of stored.known.slice(-MAX_KNOWN)) this.#known.set(id, { ...ids });
  }

  #mark(session: string): SessionMark {
    let mark = this.#sessions.find((m) => m.session === session);
    if (mark === undefined) {
      mark = { session, upTo: 0, above: [] };
      this.#sessions.push(mark);
      if (this.#sessions.length > MAX_SESSIONS) this.#sessions.shift();
    }
    return mark;
  }

  #recordEvent(record: CdrRecord, document: CdrDocument, base: Omit<CdrRecordEvent, 'id' | 'type' | 'record'>): CdrRecordEvent {
    const event: CdrRecordEvent = { id: this.#options.newEventId(), type: `cdr.${record.type}` as CdrRecordEvent['type'], ...base, record: record.fields };
    if (record.correlatorIndex !== null) event.correlatorIndex = record.correlatorIndex;
    if (document.callBridge !== null) event.callBridge = document.callBridge;
    const ids = this.#idsOf(record);
    if (ids.callId !== undefined) event.callId = ids.callId;
    if (ids.participantId !== undefined) event.participantId = ids.participantId;
    if (ids.callLegId !== undefined) event.callLegId = ids.callLegId;
    if (record.element === 'recording' && record.elementId !== '') event.recordingId = record.elementId;
    if (record.element === 'streaming' && record.elementId !== '') event.streamingId = record.elementId;
    // `record` last in the line, after the ids (a reader scanning NDJSON sees them first).
    delete (event as Partial<CdrRecordEvent>).record;
    event.record = record.fields;
    this.#learn(event);
    return event;
  }

  /** The record's own ids, completed by what its leg (or recording, stream) showed before. */
  #idsOf(record: CdrRecord): KnownIds {
    const { element, elementId, fields } = record;
    if (element === 'call') return elementId === '' ? {} : { callId: elementId };
    const own: KnownIds = {};
    if (element === 'callLeg') {
      if (elementId !== '') own.callLegId = elementId;
      const call = text(fields.call);
      if (call !== undefined) own.callId = call;
      const group = text(fields.groupId);
      if (group !== undefined) own.participantId = group;
    } else {
      const call = text(fields.call);
      const leg = text(fields.callLeg);
      if (call !== undefined) own.callId = call;
      if (leg !== undefined) own.callLegId = leg;
    }
    const earlier = this.#known.get(elementId) ?? {};
    const ofLeg = own.callLegId !== undefined && element !== 'callLeg' ? (this.#known.get(own.callLegId) ?? {}) : {};
    return { ...ofLeg, ...earlier, ...own };
  }

  /** Remembers the event's ids under its leg, recording or stream, or forgets them once that ended. */
  #learn(event: CdrRecordEvent): void {
    const type = event.type.slice('cdr.'.length);
    if (type === 'callEnd') {
      // Whatever of the call was not ended by its own record ends with it.
      if (event.callId !== undefined) for (const [id, ids] of this.#known) if (ids.callId === event.callId) this.#known.delete(id);
      return;
    }
    const elementId = type.startsWith('callLeg') ? event.callLegId : (event.recordingId ?? event.streamingId);
    if (elementId === undefined) return;
    this.#known.delete(elementId);
    if (type.endsWith('End')) return;
    const ids: KnownIds = {};
    if (event.callId !== undefined) ids.callId = event.callId;
    if (event.participantId !== undefined) ids.participantId = event.participantId;
    if (event.callLegId !== undefined) ids.callLegId = event.callLegId;
    this.#known.set(elementId, ids);
    if (this.#known.size > MAX_KNOWN) this.#known.delete(this.#known.keys().next().value!);
  }
}

function isAnnounced(mark: SessionMark, index: number): boolean {
  return index <= mark.upTo || mark.above.includes(index);
}

/** Marks `index` announced: the contiguous mark moves over it and every index above that follows. */
function note(mark: SessionMark, index: number): void {
  if (index <= mark.upTo || mark.above.includes(index)) return;
  if (index === mark.upTo + 1) {
    mark.upTo = index;
    mark.above.sort((a, b) => a - b);
    while (mark.above[0] === mark.upTo + 1) mark.upTo = mark.above.shift()!;
    return;
  }
  mark.above.push(index);
  if (mark.above.length > MAX_ABOVE) {
    // A hole that never fills (records the CMS never sent to us): the mark moves past it.
    mark.above.sort((a, b) => a - b);
    mark.upTo = mark.above.shift()!;
    while (mark.above[0] === mark.upTo + 1) mark.upTo = mark.above.shift()!;
  }
}
