// Which CDRs the simulated bridge makes, and in what order, following its world's calls and
// participants (the changes the world hands the server, the same the events feed is built from;
// nothing here changes the feed). The order is a CMS's: a participant dialling in gets
// callLegStart (no call yet), callLegUpdate connected in the IVR, the call's callStart if no
// record named the call before, then callLegUpdate into the call; a dial-out starts in its call.
// A leaving participant's leg ends with remoteTeardown; an ending call ends every leg still in it
// (callEnded), then itself, the last callLegEnd and the callEnd tied into one POST. Recording and
// streaming switched on or off make their start and end records.
//
// A participant hosted on another bridge of a cluster has no leg here; one that moves between
// bridges (the cluster changes its host without a roster change) starts or ends its leg when the
// call's count follows. The sequence is followed even while no receiver listens, so a receiver
// added later gets the records from then on, never history, and never a second callStart.
import { randomUUID } from 'node:crypto';
import { assertNever } from '../assert-never.js';
import type { Clock } from '../clock.js';
import {
  callEndXml,
  callLegEndXml,
  callLegStartXml,
  callLegUpdateXml,
  callStartXml,
  endOfXml,
  recordingStartXml,
  remoteAddressOf,
  streamingStartXml,
  type CallFacts,
  type LegFacts,
} from './cdr-records.js';
import type { CallRecord, ParticipantRecord, WorldChange } from './world.js';

/** Where the records go (cdr-receivers.ts). */
export interface CdrSink {
  /** False while no receiver listens: records are then not written at all. */
  readonly listening: boolean;
  /** One record, in order; `tiedToNext`: the next record should travel in the same POST. */
  record(type: string, xml: string, tiedToNext?: boolean): void;
  /** The records of one list of changes are all made: they may leave. */
  flush(): void;
}

/** The id of a participant's call leg (the one REST /callLegs lists), when the bridge knows it. */
export type LegIdOf = (participantId: string) => string | undefined;

interface LegState {
  readonly facts: LegFacts;
  readonly startedAt: number;
  /** clock.now() when it first connected; undefined while it has not. */
  connectedAt?: number;
}

interface Activity {
  readonly id: string;
  /** The recorder's or streamer's own call leg. */
  readonly legId: string;
}

interface CallState {
  readonly facts: CallFacts;
  readonly createdAt: number;
  /** A callStart was made: records may name the call. */
  started: boolean;
  /** By participant id, in joining order. */
  readonly legs: Map<string, LegState>;
  /** Participants listed here but hosted on another bridge: they may move here. */
  readonly remote: Set<string>;
  completed: number;
  connectedNow: number;
  maxConnected: number;
  recording?: Activity;
  streaming?: Activity;
}

/** A leg's localAddress is `<call name>@` this. */
const LOCAL_DOMAIN = 'example.com';
const COUNTED_STATES: ReadonlySet<unknown> = new Set(['connected', 'onHold']);
const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '.').replace(/^\.|\.$/g, '') || 'call';
const seconds = (ms: number): number => Math.max(0, Math.floor(ms / 1000));
/** 20261203100908+0000, as recording paths name their time. */
const pathTime = (ms: number): string => `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;

export class CdrCalls {
  private readonly calls = new Map<string, CallState>();

  constructor(
    private readonly sink: CdrSink,
    private readonly clock: Clock,
    private readonly legIdOf: LegIdOf,
  ) {}

  apply(changes: readonly WorldChange[]): void {
    for (const change of changes) {
      switch (change.kind) {
        case 'callAdded':
          this.callAdded(change.call);
          break;
        case 'callUpdated':
          this.callUpdated(change.call, change.fields);
          break;
        case 'callRemoved':
          this.callRemoved(change.call.id);
          break;
        case 'participantAdded':
          this.participantAdded(change.call, change.participant);
          break;
        case 'participantUpdated':
          this.participantUpdated(change.call, change.participant, change.fields);
          break;
        case 'participantRemoved':
          this.legEnds(change.call.id, change.participant.id);
          break;
        default:
          assertNever(change, 'world change');
      }
    }
    this.sink.flush();
  }

  private emit(type: string, xml: () => string, tiedToNext = false): void {
    if (this.sink.listening) this.sink.record(type, xml(), tiedToNext);
  }

  private state(call: CallRecord): CallState {
    let state = this.calls.get(call.id);
    if (!state) {
      const f = call.fields;
      state = {
        facts: { id: call.id, name: String(f.name ?? ''), coSpace: randomUUID(), callCorrelator: String(f.callCorrelator ?? ''), callType: String(f.callType ?? 'coSpace') },
        createdAt: this.clock.now(),
        started: false,
        legs: new Map(),
        remote: new Set(),
        completed: 0,
        connectedNow: 0,
        maxConnected: 0,
      };
      this.calls.set(call.id, state);
    }
    return state;
  }

  private callAdded(call: CallRecord): void {
    const state = this.state(call);
    if (call.fields.recording === 'active') this.recording(state, true);
    if (call.fields.streaming === 'active') this.streaming(state, true);
  }

  private callUpdated(call: CallRecord, fields: readonly string[]): void {
    const state = this.state(call);
    if (fields.includes('name')) state.facts.name = String(call.fields.name ?? '');
    if (fields.includes('recording')) this.recording(state, call.fields.recording === 'active');
    if (fields.includes('streaming')) this.streaming(state, call.fields.streaming === 'active');
    // Only a distributed call's participants can change host (cluster moves).
    if (fields.includes('participants') && (Number(call.fields.distributedInstances) > 0 || state.remote.size > 0)) this.followHosts(call, state);
  }

  /** The call's callStart, unless a record named it already. */
  private started(state: CallState): void {
    if (state.started) return;
    state.started = true;
    this.emit('callStart', () => callStartXml(state.facts));
  }

  private recording(state: CallState, on: boolean): void {
    this.activity(state, 'recording', on, (recording) =>
      recordingStartXml(recording.id, {
        path: `spaces/${state.facts.coSpace}/${pathTime(this.clock.now())}`,
        recorderUrl: 'https://recorder.example.com:8443',
        callId: state.facts.id,
        callLegId: recording.legId,
      }),
    );
  }

  private streaming(state: CallState, on: boolean): void {
    this.activity(state, 'streaming', on, (streaming) =>
      streamingStartXml(streaming.id, {
        streamUrl: `rtmp://stream.example.com/live/${slug(state.facts.name)}`,
        streamerUrl: 'https://streamer.example.com:8443',
        callId: state.facts.id,
        callLegId: streaming.legId,
      }),
    );
  }

  /** A recording or stream of the call starts (with a leg of its own) or ends: its start and end records. */
  private activity(state: CallState, kind: 'recording' | 'streaming', on: boolean, startXml: (activity: Activity) => string): void {
    if (on === (state[kind] !== undefined)) return;
    if (!on) {
      const id = (state[kind] as Activity).id;
      delete state[kind];
      this.emit(`${kind}End`, () => endOfXml(kind, id));
      return;
    }
    const activity = { id: randomUUID(), legId: randomUUID() };
    state[kind] = activity;
    this.started(state);
    this.emit(`${kind}Start`, () => startXml(activity));
  }

  private participantAdded(call: CallRecord, participant: ParticipantRecord): void {
    const state = this.state(call);
    if (participant.callBridge !== undefined) state.remote.add(participant.id);
    else this.legStarts(call, state, participant);
  }

  private participantUpdated(call: CallRecord, participant: ParticipantRecord, fields: readonly string[]): void {
    const state = this.calls.get(call.id);
    const leg = state?.legs.get(participant.id);
    if (!state || !leg) return;
    if (fields.includes('name')) leg.facts.displayName = String(participant.fields.name ?? '');
    if (fields.includes('state') && COUNTED_STATES.has(participant.fields.state)) this.connects(state, leg);
  }

  private legStarts(call: CallRecord, state: CallState, participant: ParticipantRecord): void {
    if (state.legs.has(participant.id)) return;
    const f = participant.fields;
    const id = this.legIdOf(participant.id) ?? randomUUID();
    const remoteAddress = remoteAddressOf(participant.id);
    const facts: LegFacts = {
      id,
      participantId: participant.id,
      displayName: String(f.name ?? ''),
      localAddress: `${slug(state.facts.name)}@${LOCAL_DOMAIN}`,
      remoteParty: String(f.uri ?? ''),
      remoteAddress,
      direction: f.direction === 'outgoing' ? 'outgoing' : 'incoming',
      sipCallId: `${id}@${remoteAddress}`,
      canMove: f.canMove !== false,
    };
    const leg: LegState = { facts, startedAt: this.clock.now() };
    state.legs.set(participant.id, leg);
    // A dial-out is made by its call, so it names the call from its first record.
    const inCallFromStart = facts.direction === 'outgoing';
    if (inCallFromStart) this.started(state);
    this.emit('callLegStart', () => callLegStartXml(facts, inCallFromStart ? call.id : undefined));
    if (COUNTED_STATES.has(f.state)) this.connects(state, leg);
  }

  private connects(state: CallState, leg: LegState): void {
    if (leg.connectedAt !== undefined) return;
    leg.connectedAt = this.clock.now();
    if (leg.facts.direction !== 'outgoing') this.emit('callLegUpdate', () => callLegUpdateXml(leg.facts, undefined));
    this.started(state);
    this.emit('callLegUpdate', () => callLegUpdateXml(leg.facts, state.facts.id));
    state.connectedNow += 1;
    state.maxConnected = Math.max(state.maxConnected, state.connectedNow);
  }

  private legEnds(callId: string, participantId: string, callEnded = false, tiedToNext = false): void {
    const state = this.calls.get(callId);
    const leg = state?.legs.get(participantId);
    if (!state || !leg) {
      state?.remote.delete(participantId);
      return;
    }
    state.legs.delete(participantId);
    const now = this.clock.now();
    const end = { callEnded, durationSeconds: seconds(now - leg.startedAt), activatedDuration: leg.connectedAt === undefined ? 0 : seconds(now - leg.connectedAt) };
    this.emit('callLegEnd', () => callLegEndXml(leg.facts, end), tiedToNext);
    state.completed += 1;
    if (leg.connectedAt !== undefined) state.connectedNow -= 1;
  }

  private callRemoved(callId: string): void {
    const state = this.calls.get(callId);
    if (!state) return;
    this.recording(state, false);
    this.streaming(state, false);
    const remaining = [...state.legs.keys()];
    remaining.forEach((participantId, i) => this.legEnds(callId, participantId, true, state.started && i === remaining.length - 1));
    if (state.started) {
      const figures = { completed: state.completed, maxActive: state.maxConnected, durationSeconds: seconds(this.clock.now() - state.createdAt) };
      this.emit('callEnd', () => callEndXml(callId, figures));
    }
    this.calls.delete(callId);
  }

  /** A cluster moved someone between bridges: their host changed, the roster did not. */
  private followHosts(call: CallRecord, state: CallState): void {
    for (const participantId of [...state.legs.keys()]) {
      if (call.roster.get(participantId)?.callBridge === undefined) continue;
      this.legEnds(call.id, participantId);
      state.remote.add(participantId);
    }
    for (const participantId of state.remote) {
      const participant = call.roster.get(participantId);
      if (!participant) state.remote.delete(participantId);
      else if (participant.callBridge === undefined) {
        state.remote.delete(participantId);
        this.legStarts(call, state, participant);
      }
    }
  }
}
