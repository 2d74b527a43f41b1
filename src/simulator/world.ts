// The calls and rosters one simulated bridge hosts. Every mutation becomes a list of changes
// handed to `publish` (the server fans them out to its connections); `batch` holds them back so
// several changes leave as one message per subscription. In a cluster (bridge-cluster.ts) a
// roster may also list participants hosted on another bridge: they carry that bridge's id and
// are never counted.
import { randomUUID } from 'node:crypto';
import {
  CALL_INFO_ELEMENTS,
  CALL_ROSTER_ELEMENTS,
  type CallFields,
  type ParticipantFields,
} from '../protocol/index.js';
import type { CallSnapshot, World } from './types.js';

type Values = Record<string, unknown>;

export interface ParticipantRecord {
  readonly id: string;
  /** Every roster element, null where unset. */
  readonly fields: Values;
  /**
   * The callBridge id of the bridge hosting this participant, when that is another bridge of the
   * cluster: listed in this roster, never counted, and not changed through this bridge's REST API.
   */
  callBridge?: string;
}

export interface CallRecord {
  readonly id: string;
  /** Every callInfo element, null where unset. */
  readonly fields: Values;
  readonly roster: Map<string, ParticipantRecord>;
  /** The last participant to leave, whom a late roster update after the call's end may still name. */
  departed?: ParticipantRecord;
}

export type WorldChange =
  | { kind: 'callAdded'; call: CallRecord }
  | { kind: 'callUpdated'; call: CallRecord; fields: readonly string[] }
  | { kind: 'callRemoved'; call: CallRecord; reason: string }
  | { kind: 'participantAdded'; call: CallRecord; participant: ParticipantRecord }
  | { kind: 'participantUpdated'; call: CallRecord; participant: ParticipantRecord; fields: readonly string[] }
  | { kind: 'participantRemoved'; call: CallRecord; participant: ParticipantRecord; reason?: string };

export type WorldErrorCode = 'unknownCall' | 'unknownParticipant' | 'duplicateId' | 'unknownField';

export class WorldError extends Error {
  constructor(
    readonly code: WorldErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WorldError';
  }
}

const CALL_FIELD_NAMES: ReadonlySet<string> = new Set(CALL_INFO_ELEMENTS);
const PARTICIPANT_FIELD_NAMES: ReadonlySet<string> = new Set(CALL_ROSTER_ELEMENTS);
/** Roster states that count in a call's `participants` element. */
const COUNTED_STATES: ReadonlySet<unknown> = new Set(['connected', 'onHold']);

function checkFields(fields: object, known: ReadonlySet<string>, allowId: boolean): void {
  for (const key of Object.keys(fields)) {
    if (!known.has(key) && !(allowId && key === 'id')) {
      throw new WorldError('unknownField', `unknown field "${key}"`);
    }
  }
}

/** Copies the defined values of `fields` into `target`; returns the names whose value changed. */
function assign(target: Values, fields: object): string[] {
  const changed: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || key === 'id') continue;
    if (target[key] !== value) {
      target[key] = value;
      changed.push(key);
    }
  }
  return changed;
}

export class SimulatedWorld implements World {
  private readonly callsById = new Map<string, CallRecord>();
  private pending: WorldChange[] = [];
  private batchDepth = 0;
  private callCount = 0;
  private participantCount = 0;
  private readonly observers = new Set<(changes: readonly WorldChange[]) => void>();

  constructor(private readonly publish: (changes: readonly WorldChange[]) => void) {}

  /**
   * Hands every list of changes to `observer` too, after the subscribers got it (a cluster keeps
   * the other bridges in step this way). Returns the function that stops it.
   */
  observe(observer: (changes: readonly WorldChange[]) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** The live calls, in creation order (for snapshots). */
  calls(): IterableIterator<CallRecord> {
    return this.callsById.values();
  }

  call(callId: string): CallRecord | undefined {
    return this.callsById.get(callId);
  }

  createCall(fields: Partial<CallFields> & { id?: string } = {}): string {
    checkFields(fields, CALL_FIELD_NAMES, true);
    const id = fields.id ?? randomUUID();
    if (this.callsById.has(id)) throw new WorldError('duplicateId', `call ${id} exists already`);
    this.callCount += 1;
    const values: Values = {
      name: `Meeting ${this.callCount}`,
      participants: 0,
      distributedInstances: 0,
      recording: 'inactive',
      endpointRecording: 'inactive',
      streaming: 'inactive',
      lockState: 'unlocked',
      callType: 'coSpace',
      callCorrelator: randomUUID(),
      joinAudioMuteOverride: false,
    };
    assign(values, fields);
    const call: CallRecord = { id, fields: values, roster: new Map() };
    this.callsById.set(id, call);
    this.emit({ kind: 'callAdded', call });
    return id;
  }

  updateCall(callId: string, fields: Partial<CallFields>): void {
    checkFields(fields, CALL_FIELD_NAMES, false);
    const call = this.requireCall(callId);
    const changed = assign(call.fields, fields);
    if (changed.length > 0) this.emit({ kind: 'callUpdated', call, fields: changed });
  }

  endCall(callId: string, reason = 'allLeft'): void {
    const call = this.requireCall(callId);
    this.callsById.delete(callId);
    this.emit({ kind: 'callRemoved', call, reason });
  }

  addParticipant(callId: string, fields: Partial<ParticipantFields> & { id?: string } = {}): string {
    return this.insertParticipant(callId, fields, undefined);
  }

  /** Lists a participant hosted on the bridge `callBridge` (another bridge of the cluster); not counted. */
  addRemoteParticipant(callId: string, callBridge: string, fields: Partial<ParticipantFields> & { id: string }): string {
    return this.insertParticipant(callId, fields, callBridge);
  }

  /**
   * Makes a listed participant local (`callBridge` undefined) or hosted on another bridge. The
   * roster does not change, so no roster update leaves; the call's count does.
   */
  setParticipantHost(callId: string, participantId: string, callBridge: string | undefined): void {
    const call = this.requireCall(callId);
    const participant = this.requireParticipant(call, participantId);
    if (participant.callBridge === callBridge) return;
    this.batch(() => {
      if (callBridge === undefined) delete participant.callBridge;
      else participant.callBridge = callBridge;
      this.recount(call);
    });
  }

  private insertParticipant(callId: string, fields: Partial<ParticipantFields> & { id?: string }, callBridge: string | undefined): string {
    checkFields(fields, PARTICIPANT_FIELD_NAMES, true);
    const call = this.requireCall(callId);
    const id = fields.id ?? randomUUID();
    if (call.roster.has(id)) throw new WorldError('duplicateId', `participant ${id} exists already in call ${callId}`);
    this.participantCount += 1;
    const n = this.participantCount;
    const values: Values = {
      name: `Participant ${n}`,
      uri: `participant${n}@example.com`,
      state: 'connected',
      direction: 'incoming',
      audioMuted: false,
      videoMuted: false,
      importance: null,
      layout: 'allEqual',
      activeSpeaker: false,
      presenter: false,
      endpointRecording: 'inactive',
      canMove: true,
      movedParticipant: null,
      movedParticipantCallBridge: null,
    };
    assign(values, fields);
    const participant: ParticipantRecord = callBridge === undefined ? { id, fields: values } : { id, fields: values, callBridge };
    this.batch(() => {
      call.roster.set(id, participant);
      this.emit({ kind: 'participantAdded', call, participant });
      this.recount(call);
    });
    return id;
  }

  updateParticipant(callId: string, participantId: string, fields: Partial<ParticipantFields>): void {
    checkFields(fields, PARTICIPANT_FIELD_NAMES, false);
    const call = this.requireCall(callId);
    const participant = this.requireParticipant(call, participantId);
    const changed = assign(participant.fields, fields);
    if (changed.length === 0) return;
    this.batch(() => {
      this.emit({ kind: 'participantUpdated', call, participant, fields: changed });
      if (changed.includes('state')) this.recount(call);
    });
  }

  removeParticipant(callId: string, participantId: string, reason?: string): void {
    const call = this.requireCall(callId);
    const participant = this.requireParticipant(call, participantId);
    this.batch(() => {
      call.roster.delete(participantId);
      call.departed = participant;
      this.emit(reason === undefined ? { kind: 'participantRemoved', call, participant } : { kind: 'participantRemoved', call, participant, reason });
      this.recount(call);
    });
  }

  batch(fn: () => void): void {
    this.batchDepth += 1;
    try {
      fn();
    } finally {
      this.batchDepth -= 1;
      if (this.batchDepth === 0) this.flush();
    }
  }

  listCalls(): CallSnapshot[] {
    return [...this.callsById.values()].map((call) => ({
      id: call.id,
      ...(call.fields as CallFields),
      roster: [...call.roster.values()].map((p) => ({
        id: p.id,
        ...(p.fields as ParticipantFields),
        ...(p.callBridge === undefined ? {} : { callBridge: p.callBridge }),
      })),
    }));
  }

  private emit(change: WorldChange): void {
    this.pending.push(change);
    if (this.batchDepth === 0) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    let changes = this.pending;
    this.pending = [];
    // An update of a call that ends in the same batch is noise a real bridge does not send
    // (the last leave of a meeting is followed by the call's remove, not by "participants: 0").
    const removed = new Set<CallRecord>();
    for (const change of changes) if (change.kind === 'callRemoved') removed.add(change.call);
    if (removed.size > 0) changes = changes.filter((c) => c.kind !== 'callUpdated' || !removed.has(c.call));
    this.publish(changes);
    for (const observer of this.observers) observer(changes);
  }

  private recount(call: CallRecord): void {
    let count = 0;
    for (const participant of call.roster.values()) {
      if (participant.callBridge === undefined && COUNTED_STATES.has(participant.fields.state)) count += 1;
    }
    if (call.fields.participants !== count && this.callsById.has(call.id)) {
      call.fields.participants = count;
      this.emit({ kind: 'callUpdated', call, fields: ['participants'] });
    }
  }

  private requireCall(callId: string): CallRecord {
    const call = this.callsById.get(callId);
    if (!call) throw new WorldError('unknownCall', `no call ${callId}`);
    return call;
  }

  private requireParticipant(call: CallRecord, participantId: string): ParticipantRecord {
    const participant = call.roster.get(participantId);
    if (!participant) throw new WorldError('unknownParticipant', `no participant ${participantId} in call ${call.id}`);
    return participant;
  }
}
