// Simulated bridges forming one CMS cluster (docs/protocol.md §2): a meeting is spread over
// several bridges, each with its own call for it (its own id, the same `name` and
// `callCorrelator`), `distributedInstances` counting the other bridges that hold one. A
// participant is hosted on one bridge and has the same id on every bridge that knows them; a
// bridge whose `listRemoteParticipants` switch is on also lists the meeting's participants hosted
// elsewhere, kept in step with their host and never counted in its `participants`.
//
// The bridges' worlds stay the truth: the cluster only remembers which call is which meeting's
// instance, and follows every change of those calls (made through it, by REST, or the control
// API) to keep the other instances in step: a participant's listings, the instance counts, and
// the people gone with an instance that ended.
import { randomUUID } from 'node:crypto';
import type { CallFields, ParticipantFields } from '../protocol/index.js';
import type { CallBridgeInfo, SimulatedServer } from './types.js';
import { SimulatedWorld, WorldError, type ParticipantRecord, type WorldChange } from './world.js';

export interface MeetingStart {
  name: string;
  /** The bridges (indexes into the cluster's bridges) holding an instance from the start. */
  on: readonly number[];
  /** Default a fresh GUID. */
  correlator?: string;
  /** Default coSpace. */
  callType?: string;
}

export interface MeetingInstance {
  bridge: number;
  callId: string;
  distributedInstances: number;
  /** The instance's own count: its connected and on-hold participants. */
  participants: number;
}

export interface MeetingSnapshot {
  correlator: string;
  name: string;
  callType: string;
  /** By bridge index. */
  instances: MeetingInstance[];
  /** Everyone in the meeting, wherever hosted, with the index of their host bridge. */
  participants: Array<ParticipantFields & { id: string; host: number }>;
}

export interface BridgeCluster {
  readonly bridges: readonly SimulatedServer[];
  /** A bridge's callBridge GUID, stable for the cluster's life. */
  bridgeId(index: number): string;
  /** One call on each bridge of `on`; returns the meeting's correlator. */
  startMeeting(start: MeetingStart): string;
  /** The meeting's call id on a bridge; undefined when it has no instance there. */
  callId(correlator: string, bridge: number): string | undefined;
  /** The correlator of the meeting whose instance `callId` is (on any bridge). */
  meetingOf(callId: string): string | undefined;
  /** Opens an instance on `bridge` (or finds the one there); returns its call id. */
  addInstance(correlator: string, bridge: number): string;
  /** Ends one instance; the others go on. The people it hosted leave the meeting with it. */
  endInstance(correlator: string, bridge: number, reason?: string): void;
  /** Ends every instance. */
  endMeeting(correlator: string, reason?: string): void;
  /** Someone joins on `bridge` (which gets an instance if it has none); returns their cluster-wide id. */
  join(correlator: string, bridge: number, fields?: Partial<ParticipantFields> & { id?: string }): string;
  /** Changes a participant on their host; the listings elsewhere follow. */
  update(participantId: string, fields: Partial<ParticipantFields>): void;
  leave(participantId: string, reason?: string): void;
  /** The participant leaves their host's roster and joins `toBridge`'s with the same id. */
  move(participantId: string, toBridge: number): void;
  meetings(): MeetingSnapshot[];
  /** Stops following the bridges (their calls stay as they are). */
  dissolve(): void;
}

interface Meeting {
  readonly correlator: string;
  readonly name: string;
  readonly callType: string;
  /** Bridge index → the call id of its instance. */
  readonly instances: Map<number, string>;
}

interface Hosted {
  meeting: Meeting;
  bridge: number;
  callId: string;
  record: ParticipantRecord;
}

export function formBridgeCluster(bridges: SimulatedServer[]): BridgeCluster {
  return new SimulatedBridgeCluster(bridges);
}

class SimulatedBridgeCluster implements BridgeCluster {
  readonly bridges: readonly SimulatedServer[];
  private readonly worlds: readonly SimulatedWorld[];
  private readonly ids: readonly string[];
  private readonly byCorrelator = new Map<string, Meeting>();
  private readonly byCallId = new Map<string, { meeting: Meeting; bridge: number }>();
  private readonly unobserve: Array<() => void>;

  constructor(bridges: SimulatedServer[]) {
    if (bridges.length === 0) throw new RangeError('a cluster needs at least one bridge');
    if (new Set(bridges).size !== bridges.length) throw new RangeError('a bridge appears twice in the cluster');
    this.worlds = bridges.map((bridge) => {
      if (!(bridge.world instanceof SimulatedWorld)) throw new TypeError(`bridge ${bridge.name} was not made by startSimulator`);
      if (bridge.callBridges.length > 0) throw new RangeError(`bridge ${bridge.name} is in a cluster already`);
      return bridge.world;
    });
    this.bridges = [...bridges];
    this.ids = bridges.map(() => randomUUID());
    const listing: CallBridgeInfo[] = bridges.map((bridge, i) => ({ id: this.ids[i] as string, name: bridge.name }));
    for (const bridge of bridges) bridge.callBridges = listing;
    this.unobserve = this.worlds.map((world, bridge) => world.observe((changes) => this.observed(bridge, changes)));
  }

  bridgeId(index: number): string {
    this.checkBridge(index);
    return this.ids[index] as string;
  }

  startMeeting(start: MeetingStart): string {
    const on = [...new Set(start.on)];
    if (on.length === 0) throw new RangeError('a meeting starts on at least one bridge');
    for (const bridge of on) this.checkBridge(bridge);
    const correlator = start.correlator ?? randomUUID();
    if (this.byCorrelator.has(correlator)) throw new WorldError('duplicateId', `meeting ${correlator} exists already`);
    const meeting: Meeting = { correlator, name: start.name, callType: start.callType ?? 'coSpace', instances: new Map() };
    this.byCorrelator.set(correlator, meeting);
    // Every instance is created knowing how many there will be, so none starts with a wrong count.
    for (const bridge of on) this.openInstance(meeting, bridge, on.length - 1);
    return correlator;
  }

  callId(correlator: string, bridge: number): string | undefined {
    return this.byCorrelator.get(correlator)?.instances.get(bridge);
  }

  meetingOf(callId: string): string | undefined {
    return this.byCallId.get(callId)?.meeting.correlator;
  }

  addInstance(correlator: string, bridge: number): string {
    const meeting = this.meeting(correlator);
    this.checkBridge(bridge);
    const existing = meeting.instances.get(bridge);
    if (existing !== undefined) return existing;
    const callId = this.openInstance(meeting, bridge, meeting.instances.size);
    this.countInstances(meeting);
    if (this.bridges[bridge]?.switches.listRemoteParticipants) {
      const world = this.worlds[bridge] as SimulatedWorld;
      world.batch(() => {
        for (const person of this.hostedIn(meeting)) world.addRemoteParticipant(callId, this.ids[person.bridge] as string, { ...person.record.fields, id: person.record.id });
      });
    }
    return callId;
  }

  endInstance(correlator: string, bridge: number, reason?: string): void {
    const callId = this.meeting(correlator).instances.get(bridge);
    if (callId === undefined) throw new WorldError('unknownCall', `meeting ${correlator} has no instance on bridge ${bridge}`);
    // The rest (counts, the people it hosted) follows from the call's remove, as after a REST DELETE.
    (this.worlds[bridge] as SimulatedWorld).endCall(callId, reason);
  }

  endMeeting(correlator: string, reason?: string): void {
    const meeting = this.meeting(correlator);
    // Forgotten first, so that the instances' removes are not taken for one bridge leaving.
    this.byCorrelator.delete(correlator);
    for (const callId of meeting.instances.values()) this.byCallId.delete(callId);
    for (const [bridge, callId] of meeting.instances) (this.worlds[bridge] as SimulatedWorld).endCall(callId, reason);
  }

  join(correlator: string, bridge: number, fields: Partial<ParticipantFields> & { id?: string } = {}): string {
    const meeting = this.meeting(correlator);
    this.checkBridge(bridge);
    const id = fields.id ?? randomUUID();
    if (this.host(id)) throw new WorldError('duplicateId', `participant ${id} is in a meeting already`);
    const callId = meeting.instances.get(bridge) ?? this.addInstance(correlator, bridge);
    // The listings on the other bridges follow from the add (observed).
    (this.worlds[bridge] as SimulatedWorld).addParticipant(callId, { ...fields, id });
    return id;
  }

  update(participantId: string, fields: Partial<ParticipantFields>): void {
    const { bridge, callId } = this.requireHost(participantId);
    (this.worlds[bridge] as SimulatedWorld).updateParticipant(callId, participantId, fields);
  }

  leave(participantId: string, reason?: string): void {
    const { bridge, callId } = this.requireHost(participantId);
    (this.worlds[bridge] as SimulatedWorld).removeParticipant(callId, participantId, reason);
  }

  /**
   * The new host lists them as its own (a listing it had becomes local: no roster change there),
   * the other listings name the new host, and the old host drops them, or keeps them listed as
   * remote when it lists remote participants. docs/protocol.md does not say what
   * movedParticipant and movedParticipantCallBridge hold, so they are left as they are.
   */
  move(participantId: string, toBridge: number): void {
    const from = this.requireHost(participantId);
    this.checkBridge(toBridge);
    if (from.bridge === toBridge) return;
    const { meeting } = from;
    const fields = { ...from.record.fields };
    const toCallId = meeting.instances.get(toBridge) ?? this.addInstance(meeting.correlator, toBridge);
    const to = this.worlds[toBridge] as SimulatedWorld;
    const listed = to.call(toCallId)?.roster.get(participantId);
    if (listed) {
      to.batch(() => {
        to.updateParticipant(toCallId, participantId, fields);
        to.setParticipantHost(toCallId, participantId, undefined);
      });
    } else to.addParticipant(toCallId, { ...fields, id: participantId });
    this.list(meeting, toBridge, participantId, true);
    const old = this.worlds[from.bridge] as SimulatedWorld;
    if (this.bridges[from.bridge]?.switches.listRemoteParticipants) old.setParticipantHost(from.callId, participantId, this.ids[toBridge]);
    else old.removeParticipant(from.callId, participantId);
  }

  meetings(): MeetingSnapshot[] {
    return [...this.byCorrelator.values()].map((meeting) => {
      const instances: MeetingInstance[] = [];
      for (const [bridge, callId] of [...meeting.instances].sort(([a], [b]) => a - b)) {
        const call = this.worlds[bridge]?.call(callId);
        if (!call) continue;
        instances.push({ bridge, callId, distributedInstances: call.fields.distributedInstances as number, participants: call.fields.participants as number });
      }
      const participants = this.hostedIn(meeting)
        .sort((a, b) => a.bridge - b.bridge)
        .map(({ bridge, record }) => ({ id: record.id, ...(record.fields as ParticipantFields), host: bridge }));
      return { correlator: meeting.correlator, name: meeting.name, callType: meeting.callType, instances, participants };
    });
  }

  dissolve(): void {
    for (const stop of this.unobserve.splice(0)) stop();
    for (const bridge of this.bridges) bridge.callBridges = [];
  }

  // ---- following the instances ---------------------------------------------------------------

  private observed(bridge: number, changes: readonly WorldChange[]): void {
    for (const change of changes) {
      const at = this.byCallId.get(change.call.id);
      if (!at || at.bridge !== bridge) continue;
      switch (change.kind) {
        case 'participantAdded':
        case 'participantUpdated': {
          const record = change.participant;
          // Changes of listings (remote records) are ours, made to follow their host.
          const local = record.callBridge === undefined && change.call.roster.get(record.id) === record;
          if (local) this.list(at.meeting, bridge, record.id, change.kind === 'participantAdded');
          break;
        }
        case 'participantRemoved':
          if (change.participant.callBridge === undefined) this.unlist(at.meeting, bridge, change.participant.id, change.reason);
          break;
        case 'callRemoved':
          this.instanceEnded(at.meeting, bridge, change.call.id, change.call.roster.values());
          break;
        case 'callAdded':
        case 'callUpdated':
          break;
      }
    }
  }

  /**
   * Brings the listings of a participant hosted on `host` in step on the meeting's other
   * instances: a listing takes the host's values and names it; a bridge without one gets one
   * only when `addMissing` (a join or a move) and its switch is on at that moment, so flipping
   * `listRemoteParticipants` on a running cluster does not rewrite the rosters it already has.
   */
  private list(meeting: Meeting, host: number, participantId: string, addMissing: boolean): void {
    const hostCall = meeting.instances.get(host);
    const record = hostCall === undefined ? undefined : this.worlds[host]?.call(hostCall)?.roster.get(participantId);
    if (!record) return;
    const hostId = this.ids[host] as string;
    for (const [bridge, callId] of meeting.instances) {
      if (bridge === host) continue;
      const world = this.worlds[bridge] as SimulatedWorld;
      const listing = world.call(callId)?.roster.get(participantId);
      if (listing) {
        if (listing.callBridge === undefined) continue; // hosted there too, for the moment of a move
        world.batch(() => {
          world.updateParticipant(callId, participantId, record.fields);
          world.setParticipantHost(callId, participantId, hostId);
        });
      } else if (addMissing && this.bridges[bridge]?.switches.listRemoteParticipants) {
        world.addRemoteParticipant(callId, hostId, { ...record.fields, id: participantId });
      }
    }
  }

  /** A participant left their host: the listings naming that host go, with the same reason. */
  private unlist(meeting: Meeting, host: number, participantId: string, reason: string | undefined): void {
    const hostId = this.ids[host];
    for (const [bridge, callId] of meeting.instances) {
      if (bridge === host) continue;
      const world = this.worlds[bridge] as SimulatedWorld;
      if (world.call(callId)?.roster.get(participantId)?.callBridge === hostId) world.removeParticipant(callId, participantId, reason);
    }
  }

  /** An instance ended (through the cluster, REST or the control API): the others go on without it. */
  private instanceEnded(meeting: Meeting, bridge: number, callId: string, roster: Iterable<ParticipantRecord>): void {
    meeting.instances.delete(bridge);
    this.byCallId.delete(callId);
    if (meeting.instances.size === 0) {
      this.byCorrelator.delete(meeting.correlator);
      return;
    }
    // The people it hosted left with it; the bridges listing them see them go (no reason is known).
    for (const record of roster) if (record.callBridge === undefined) this.unlist(meeting, bridge, record.id, undefined);
    this.countInstances(meeting);
  }

  // ---- instances -----------------------------------------------------------------------------

  private openInstance(meeting: Meeting, bridge: number, distributedInstances: number): string {
    const fields: Partial<CallFields> = { name: meeting.name, callType: meeting.callType, callCorrelator: meeting.correlator, distributedInstances };
    const callId = (this.worlds[bridge] as SimulatedWorld).createCall(fields);
    meeting.instances.set(bridge, callId);
    this.byCallId.set(callId, { meeting, bridge });
    return callId;
  }

  /** Each instance's distributedInstances: the number of other bridges holding one. */
  private countInstances(meeting: Meeting): void {
    const others = meeting.instances.size - 1;
    for (const [bridge, callId] of meeting.instances) (this.worlds[bridge] as SimulatedWorld).updateCall(callId, { distributedInstances: others });
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** The meeting's participants on their hosts (never their listings elsewhere). */
  private hostedIn(meeting: Meeting): Hosted[] {
    const hosted: Hosted[] = [];
    for (const [bridge, callId] of meeting.instances) {
      const call = this.worlds[bridge]?.call(callId);
      if (!call) continue;
      for (const record of call.roster.values()) if (record.callBridge === undefined) hosted.push({ meeting, bridge, callId, record });
    }
    return hosted;
  }

  private host(participantId: string): Hosted | undefined {
    for (const meeting of this.byCorrelator.values()) {
      for (const [bridge, callId] of meeting.instances) {
        const record = this.worlds[bridge]?.call(callId)?.roster.get(participantId);
        if (record && record.callBridge === undefined) return { meeting, bridge, callId, record };
      }
    }
    return undefined;
  }

  private requireHost(participantId: string): Hosted {
    const hosted = this.host(participantId);
    if (!hosted) throw new WorldError('unknownParticipant', `no participant ${participantId} in the cluster's meetings`);
    return hosted;
  }

  private meeting(correlator: string): Meeting {
    const meeting = this.byCorrelator.get(correlator);
    if (!meeting) throw new WorldError('unknownCall', `no meeting ${correlator}`);
    return meeting;
  }

  private checkBridge(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.bridges.length) {
      throw new RangeError(`bridge index must be an integer from 0 to ${this.bridges.length - 1}, not ${index}`);
    }
  }
}
