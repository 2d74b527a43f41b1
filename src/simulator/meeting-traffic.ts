// Plays long meetings spread over the bridges of a cluster (bridge-cluster.ts): people join on
// either bridge, connect, mute, hold, speak, leave, now and then one moves to another bridge, and instances
// come and go while each meeting stays spread over two bridges most of the time. The same people
// and pace as the per-bridge traffic (traffic-choices.ts, traffic-pace.ts); it touches only the
// meetings it started, so tests and the per-bridge traffic can share the bridges.
import type { BridgeCluster, MeetingSnapshot } from './bridge-cluster.js';
import type { Clock } from '../clock.js';
import { checkRate, pace } from './traffic-pace.js';
import { HANGUP_REASONS, MEETING_NAMES, newcomer, pick, pickWeighted, progression, type Random } from './traffic-choices.js';
import { WorldError } from './world.js';

export interface MeetingTrafficOptions {
  /** Approximate server messages per second, over all the cluster's bridges; default 5; 0 plays nothing. */
  rate?: number;
  /** Default Math.random; inject a seeded one for a reproducible run. */
  random?: () => number;
  /** The pace's clock; default the real one. Tests pass a manual one. */
  clock?: Clock;
  /** Meetings kept alive at once; default 1. */
  meetings?: number;
}

type Person = MeetingSnapshot['participants'][number];
type Action = [weight: number, act: () => number];

/** Names of people still joining are pruned past this many (others may remove them behind our back). */
const FORGET_NAMES_ABOVE = 256;

export function startMeetingTraffic(cluster: BridgeCluster, options: MeetingTrafficOptions = {}): { stop(): void } {
  const rate = checkRate(options.rate ?? 5);
  const meetings = options.meetings ?? 1;
  if (!Number.isSafeInteger(meetings) || meetings < 0) throw new RangeError(`meetings must be an integer >= 0, not ${meetings}`);
  if (rate === 0 || meetings === 0) return { stop: () => undefined };
  if (cluster.bridges.length < 2) throw new RangeError('distributed meetings need a cluster of at least two bridges');
  const player = new DistributedMeetingPlayer(cluster, options.random ?? Math.random, meetings);
  return pace(() => player.step(), rate, options.clock);
}

class DistributedMeetingPlayer {
  /** The meetings it started, with the number of people each grows to. */
  private readonly sizes = new Map<string, number>();
  /** Who a participant turns out to be: the roster shows the name only once the call connects. */
  private readonly names = new Map<string, string>();
  private dialled = 5560000;

  constructor(
    private readonly cluster: BridgeCluster,
    private readonly random: Random,
    private readonly wanted: number,
  ) {}

  /** Plays one action; returns the number of messages it costs (at least 1). */
  step(): number {
    const meetings = this.cluster.meetings().filter((m) => this.sizes.has(m.correlator));
    this.forgetEnded(meetings);
    const actions: Action[] = [];
    if (meetings.length < this.wanted) actions.push([meetings.length === 0 ? 100 : 3, () => this.start()]);
    for (const meeting of meetings) this.actionsFor(meeting, actions);
    if (actions.length === 0) return 1;
    try {
      return Math.max(1, pickWeighted(this.random, actions)());
    } catch (error) {
      // Someone else (a test, REST, the control API) changed a bridge between our read and our write.
      if (error instanceof WorldError) return 1;
      throw error;
    }
  }

  private actionsFor(meeting: MeetingSnapshot, actions: Action[]): void {
    const people = meeting.participants;
    const size = this.sizes.get(meeting.correlator) ?? 0;
    if (people.length < size) actions.push([6, () => this.join(meeting)]);
    for (const person of people) {
      if (person.state === 'initial' || person.state === 'ringing') actions.push([8, () => this.progress(meeting, person)]);
    }
    const connected = people.filter((p) => p.state === 'connected');
    if (connected.length > 0) {
      actions.push([4, () => this.toggleMute(meeting, this.pick(connected))]);
      actions.push([1, () => this.setState(meeting, this.pick(connected), 'onHold')]);
      actions.push([1, () => this.leave(meeting, this.pick(connected))]);
      actions.push([0.3, () => this.move(meeting, this.pick(connected))]);
    }
    const held = people.filter((p) => p.state === 'onHold');
    if (held.length > 0) actions.push([2, () => this.setState(meeting, this.pick(held), 'connected')]);
    if (connected.length >= 2) actions.push([4, () => this.passTheWord(meeting, connected)]);
    // Instances come and go; a meeting left on one bridge soon spreads again.
    if (meeting.instances.length < 2) actions.push([5, () => this.spread(meeting)]);
    else if (people.length > 0) {
      for (const instance of meeting.instances) {
        if (!people.some((p) => p.host === instance.bridge)) actions.push([0.5, () => this.endInstance(meeting, instance.bridge)]);
      }
    }
    // Rarely the host ends it for everyone; another one starts.
    actions.push([0.02, () => this.endMeeting(meeting)]);
  }

  private start(): number {
    const count = this.cluster.bridges.length;
    const first = Math.floor(this.random() * count) % count;
    const second = (first + 1 + (Math.floor(this.random() * (count - 1)) % (count - 1))) % count;
    const correlator = this.cluster.startMeeting({ name: this.pick(MEETING_NAMES), on: [first, second] });
    this.sizes.set(correlator, 4 + Math.floor(this.random() * 6));
    // On each bridge: callListUpdate add, then the client's per-call subscriptions: pending, active, callInfo.
    return 8;
  }

  /** Mostly on a bridge that holds the meeting already; now and then on another, which joins it. */
  private join(meeting: MeetingSnapshot): number {
    const bridge = this.random() < 0.85 ? this.pick(meeting.instances).bridge : Math.floor(this.random() * this.cluster.bridges.length) % this.cluster.bridges.length;
    const { fields, name } = newcomer(this.random, () => (this.dialled += 1), meeting.participants[0]?.layout ?? 'allEqual');
    this.names.set(this.cluster.join(meeting.correlator, bridge, fields), name);
    return 1 + this.echoes(meeting, bridge);
  }

  private progress(meeting: MeetingSnapshot, person: Person): number {
    const next = progression(this.random, person, this.names.get(person.id));
    if (next === 'noAnswer') {
      this.names.delete(person.id);
      this.cluster.leave(person.id, 'unknownDestination');
      return 1 + this.echoes(meeting, person.host);
    }
    this.cluster.update(person.id, next);
    if (next.state === 'ringing') return 1 + this.echoes(meeting, person.host);
    this.names.delete(person.id);
    // Roster update, then the count change on callInfo and callList; the listings elsewhere.
    return 3 + this.echoes(meeting, person.host);
  }

  private toggleMute(meeting: MeetingSnapshot, person: Person): number {
    const element = this.random() < 0.7 ? 'audioMuted' : 'videoMuted';
    this.cluster.update(person.id, { [element]: !person[element] });
    return 1 + this.echoes(meeting, person.host);
  }

  /** On hold and back: the count changes on the host. */
  private setState(meeting: MeetingSnapshot, person: Person, state: 'onHold' | 'connected'): number {
    this.cluster.update(person.id, state === 'onHold' ? { state, activeSpeaker: false } : { state });
    return 3 + this.echoes(meeting, person.host);
  }

  /** The active speaker changes, wherever the two are hosted. */
  private passTheWord(meeting: MeetingSnapshot, connected: Person[]): number {
    const current = connected.find((p) => p.activeSpeaker);
    const next = this.pick(connected.filter((p) => p !== current));
    if (current) this.cluster.update(current.id, { activeSpeaker: false });
    this.cluster.update(next.id, { activeSpeaker: true });
    return (current ? 1 + this.echoes(meeting, current.host) : 0) + 1 + this.echoes(meeting, next.host);
  }

  private leave(meeting: MeetingSnapshot, person: Person): number {
    this.names.delete(person.id);
    this.cluster.leave(person.id, this.pick(HANGUP_REASONS));
    return 3 + this.echoes(meeting, person.host);
  }

  /** To another bridge of the cluster, which gets an instance if it has none. */
  private move(meeting: MeetingSnapshot, person: Person): number {
    const others = this.cluster.bridges.map((_, i) => i).filter((i) => i !== person.host);
    const to = this.pick(others);
    const spreads = !meeting.instances.some((i) => i.bridge === to);
    this.cluster.move(person.id, to);
    // A remove and an add (or a count) on each host, the listings elsewhere; a new instance's call and counts.
    return 6 + this.echoes(meeting, person.host) + (spreads ? 6 : 0);
  }

  private spread(meeting: MeetingSnapshot): number {
    const free = this.cluster.bridges.map((_, i) => i).filter((i) => !meeting.instances.some((instance) => instance.bridge === i));
    if (free.length === 0) return 1;
    this.cluster.addInstance(meeting.correlator, this.pick(free));
    // The new call and its subscriptions, then the others' distributedInstances.
    return 6;
  }

  private endInstance(meeting: MeetingSnapshot, bridge: number): number {
    this.cluster.endInstance(meeting.correlator, bridge, 'allLeft');
    // callListUpdate remove and deactivations, then the others' distributedInstances.
    return 4;
  }

  private endMeeting(meeting: MeetingSnapshot): number {
    for (const person of meeting.participants) this.names.delete(person.id);
    this.cluster.endMeeting(meeting.correlator, 'participantInitiated');
    this.sizes.delete(meeting.correlator);
    return 2 * meeting.instances.length;
  }

  /** The other instances whose bridge lists remote participants: each sends the change too. */
  private echoes(meeting: MeetingSnapshot, host: number): number {
    let count = 0;
    for (const instance of meeting.instances) if (instance.bridge !== host && this.cluster.bridges[instance.bridge]?.switches.listRemoteParticipants) count += 1;
    return count;
  }

  /** Drops what the player remembers of meetings and people that ended behind its back. */
  private forgetEnded(meetings: readonly MeetingSnapshot[]): void {
    if (this.sizes.size > meetings.length) {
      const live = new Set(meetings.map((m) => m.correlator));
      for (const correlator of this.sizes.keys()) if (!live.has(correlator)) this.sizes.delete(correlator);
    }
    if (this.names.size > FORGET_NAMES_ABOVE) {
      const present = new Set(meetings.flatMap((m) => m.participants.map((p) => p.id)));
      for (const id of this.names.keys()) if (!present.has(id)) this.names.delete(id);
    }
  }

  private pick<T>(items: readonly T[]): T {
    return pick(this.random, items);
  }
}
