// A minimal correct Events client over the simulator's probe client, for tests that compare what
// a client sees with the simulator's world.
import { CALL_ELEMENTS, CALL_INFO_ELEMENTS, CALL_ROSTER_ELEMENTS, type ServerMessage, type Subscription } from '../../src/protocol/index.js';
import type { Probe, ProbeFrame } from '../../src/simulator/probe-client.js';

export type Values = Record<string, unknown>;
export interface ModelCall {
  fields: Values;
  roster: Map<string, Values>;
}

/**
 * The least a correct client does: subscribe to calls, then to callInfo and callRoster of every
 * call it learns of, one request in flight at a time, applying every delta to its model.
 */
export class Follower {
  readonly calls = new Map<string, ModelCall>();
  readonly problems: string[] = [];
  /** Roster entries received, per call, in order. */
  readonly rosterLog: Array<{ call: string; participant: string; updateType: string; reason?: string }> = [];
  private readonly perCall = new Map<string, { info: number; roster: number }>();
  /** Subscription index → the call it is for (undefined for `calls`). */
  private readonly indexes = new Map<number, string | undefined>([[1, undefined]]);
  private nextIndex = 2;
  private inFlight: number | undefined;
  private dirty = false;

  constructor(readonly probe: Probe) {
    probe.onFrame = (frame) => this.receive(frame);
    this.request();
  }

  /** True once the desired set is what the server last acknowledged. */
  get settled(): boolean {
    return this.inFlight === undefined && !this.dirty;
  }

  /** The roster of a call as the model has it (empty if unknown). */
  roster(callId: string | undefined): Map<string, Values> {
    return this.calls.get(callId ?? '')?.roster ?? new Map();
  }

  /** The model in the shape of World.listCalls(), for comparison. */
  snapshot() {
    return [...this.calls].map(([id, call]) => ({
      id,
      ...call.fields,
      roster: [...call.roster].map(([pid, fields]) => ({ id: pid, ...fields })),
    }));
  }

  private request(): void {
    const subs: Subscription[] = [{ index: 1, type: 'calls', elements: CALL_ELEMENTS }];
    for (const [call, { info, roster }] of this.perCall) {
      subs.push({ index: info, type: 'callInfo', call, elements: CALL_INFO_ELEMENTS });
      subs.push({ index: roster, type: 'callRoster', call, elements: CALL_ROSTER_ELEMENTS });
    }
    this.dirty = false;
    this.inFlight = this.probe.subscribe(subs);
  }

  private wantChange(): void {
    this.dirty = true;
    if (this.inFlight === undefined) this.request();
  }

  private receive(frame: ProbeFrame): void {
    if (frame.kind === 'invalid') {
      this.problems.push(`invalid frame ${frame.text.slice(0, 80)}`);
      return;
    }
    if (frame.kind === 'messageAck') {
      if (frame.ack.messageId !== this.inFlight) this.problems.push(`unexpected messageAck ${frame.ack.messageId}`);
      if (frame.ack.status !== 'success') this.problems.push(`failed messageAck ${frame.ack.status}`);
      this.inFlight = undefined;
      if (this.dirty) this.request();
      return;
    }
    this.apply(frame.message);
  }

  private apply(message: ServerMessage): void {
    if (message.type === 'subscriptionUpdate') {
      for (const s of message.subscriptions) {
        if (!this.indexes.has(s.index)) this.problems.push(`state for unknown index ${s.index}`);
        if (!['pending', 'active', 'deactivated'].includes(s.state)) this.problems.push(`odd state ${s.state}`);
      }
      return;
    }
    if (!this.indexes.has(message.subscriptionIndex)) {
      this.problems.push(`${message.type} for unknown index ${message.subscriptionIndex}`);
      return;
    }
    if (message.type === 'callListUpdate') {
      for (const { call, updateType, reason: _reason, ...fields } of message.updates) {
        if (updateType === 'add') {
          this.calls.set(call, { fields, roster: new Map() });
          const ids = { info: this.nextIndex++, roster: this.nextIndex++ };
          this.perCall.set(call, ids);
          this.indexes.set(ids.info, call);
          this.indexes.set(ids.roster, call);
          this.wantChange();
        } else if (updateType === 'update') Object.assign(this.calls.get(call)?.fields ?? {}, fields);
        else {
          this.calls.delete(call);
          this.perCall.delete(call);
          this.wantChange();
        }
      }
      return;
    }
    // Late updates for a call already removed are a known race: tolerated, not applied.
    const callId = this.indexes.get(message.subscriptionIndex) ?? '';
    const call = this.calls.get(callId);
    if (message.type === 'callInfoUpdate') {
      if (call) Object.assign(call.fields, message.callInfo);
      return;
    }
    for (const { participant, updateType, reason, ...fields } of message.updates) {
      if (!call) continue;
      this.rosterLog.push({ call: callId, participant, updateType, ...(reason === undefined ? {} : { reason }) });
      if (updateType === 'add') call.roster.set(participant, fields);
      else if (updateType === 'update') Object.assign(call.roster.get(participant) ?? {}, fields);
      else call.roster.delete(participant);
    }
  }
}
