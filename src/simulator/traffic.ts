// Plays realistic meetings on a world: calls start and end, people dial in or are dialled out
// (ringing, connect with their name and number filled in), mute, hold, speak over each other,
// change layout, leave. The pace is a budget of server messages per second, as seen by a client
// subscribed to everything; each action spends what it will roughly cost on the wire
// (traffic-pace.ts). Who joins and how their call progresses is in traffic-choices.ts.
import { CALL_TYPES, LAYOUTS } from '../protocol/index.js';
import type { CallSnapshot, World } from './types.js';
import { WorldError } from './world.js';
import type { Clock } from '../clock.js';
import { checkRate, pace } from './traffic-pace.js';
import { HANGUP_REASONS, MEETING_NAMES, newcomer, pick, pickWeighted, progression } from './traffic-choices.js';

export interface TrafficOptions {
  /** Approximate server messages per second; default 5; 0 plays nothing. */
  rate?: number;
  /** Default Math.random; inject a seeded one for a reproducible run. */
  random?: () => number;
  /** Most calls live at once; default 4. */
  maxCalls?: number;
  /** The pace's clock; default the real one (performance.now for sub-millisecond pauses). Tests pass a manual one. */
  clock?: Clock;
  /** Calls another player drives (a BridgeCluster's meetings): never touched, not counted in maxCalls. */
  leaveAlone?: (callId: string) => boolean;
}

/** Names of people still joining are pruned past this many (others may remove them behind our back). */
const FORGET_NAMES_ABOVE = 256;

interface Plan {
  /** Roster size the meeting grows to. */
  size: number;
  /** Step after which people only leave, and the call ends once empty. */
  endsAt: number;
}

type Call = CallSnapshot;
type Person = Call['roster'][number];

export function startTraffic(world: World, options: TrafficOptions = {}): { stop(): void } {
  const rate = checkRate(options.rate ?? 5);
  if (rate === 0) return { stop: () => undefined };
  const player = new MeetingPlayer(world, options.random ?? Math.random, options.maxCalls ?? 4, options.leaveAlone);
  return pace(() => player.step(), rate, options.clock);
}

class MeetingPlayer {
  private readonly plans = new Map<string, Plan>();
  /** Who a participant turns out to be: the roster shows the name only once the call connects. */
  private readonly names = new Map<string, string>();
  private steps = 0;
  private dialled = 5550000;

  constructor(
    private readonly world: World,
    private readonly random: () => number,
    private readonly maxCalls: number,
    private readonly leaveAlone: ((callId: string) => boolean) | undefined,
  ) {}

  /** Plays one action; returns the number of messages it costs (at least 1). */
  step(): number {
    this.steps += 1;
    const all = this.world.listCalls();
    const calls = this.leaveAlone ? all.filter((c) => !this.leaveAlone?.(c.id)) : all;
    this.forgetEnded(calls);
    const actions: Array<[weight: number, act: () => number]> = [];
    if (calls.length < this.maxCalls) actions.push([calls.length === 0 ? 100 : 3, () => this.startCall()]);
    for (const call of calls) this.actionsFor(call, actions);
    if (actions.length === 0) return 1;
    try {
      return Math.max(1, this.pickWeighted(actions)());
    } catch (error) {
      // Someone else (a test, the control API) changed the world between our read and our write.
      if (error instanceof WorldError) return 1;
      throw error;
    }
  }

  private actionsFor(call: Call, actions: Array<[number, () => number]>): void {
    const plan = this.planFor(call.id);
    const ending = this.steps >= plan.endsAt;
    // Participants hosted on another bridge of a cluster are changed by their host, not here.
    const roster = call.roster.filter((p) => p.callBridge === undefined);
    const connected = roster.filter((p) => p.state === 'connected');
    if (ending) {
      if (roster.length === 0) actions.push([20, () => this.endCall(call, 'allLeft')]);
      else actions.push([20, () => this.leave(call, this.pick(roster), roster.length === 1)]);
      return;
    }
    if (roster.length < plan.size) actions.push([6, () => this.join(call)]);
    for (const person of roster) {
      if (person.state === 'initial' || person.state === 'ringing') actions.push([8, () => this.progress(call, person)]);
    }
    if (connected.length > 0) {
      actions.push([4, () => this.toggle(call, this.pick(connected), this.random() < 0.7 ? 'audioMuted' : 'videoMuted')]);
      actions.push([1, () => this.hold(call, this.pick(connected))]);
      actions.push([1, () => this.toggle(call, this.pick(connected), 'presenter')]);
      actions.push([1, () => this.leave(call, this.pick(connected), false)]);
    }
    const held = roster.filter((p) => p.state === 'onHold');
    if (held.length > 0) actions.push([2, () => this.resume(call, this.pick(held))]);
    if (connected.length >= 2) {
      actions.push([6, () => this.flapSpeaker(call, connected)]);
      actions.push([1, () => this.changeLayout(call)]);
    }
    actions.push([1, () => this.toggleRecording(call)]);
    // A meeting ended by its host while people are still in it: the client must synthesize the leaves.
    if (roster.length > 0) actions.push([0.1, () => this.endCall(call, 'participantInitiated')]);
  }

  private startCall(): number {
    const callType = this.random() < 0.85 ? 'coSpace' : this.pick(CALL_TYPES.slice(1));
    const id = this.world.createCall({ name: this.pick(MEETING_NAMES), callType });
    this.planFor(id);
    // callListUpdate add, then the client's per-call subscriptions: pending, active, callInfo.
    return 4;
  }

  private join(call: Call): number {
    const { fields, name } = newcomer(this.random, () => (this.dialled += 1), call.roster[0]?.layout ?? 'allEqual');
    this.names.set(this.world.addParticipant(call.id, fields), name);
    return 1;
  }

  /** Dial-in: initial → connected. Dial-out: initial → ringing → connected, or no answer. */
  private progress(call: Call, person: Person): number {
    const next = progression(this.random, person, this.names.get(person.id));
    if (next === 'noAnswer') return this.leave(call, person, false, 'unknownDestination');
    this.world.updateParticipant(call.id, person.id, next);
    if (next.state === 'ringing') return 1;
    this.names.delete(person.id);
    // Roster update, then the count change on callInfo and callList.
    return 3;
  }

  private toggle(call: Call, person: Person, element: 'audioMuted' | 'videoMuted' | 'presenter'): number {
    this.world.updateParticipant(call.id, person.id, { [element]: !person[element] });
    return 1;
  }

  private hold(call: Call, person: Person): number {
    this.world.updateParticipant(call.id, person.id, { state: 'onHold', activeSpeaker: false });
    return 1;
  }

  private resume(call: Call, person: Person): number {
    this.world.updateParticipant(call.id, person.id, { state: 'connected' });
    return 1;
  }

  /** The speaker moves: one message with two roster updates. */
  private flapSpeaker(call: Call, connected: Person[]): number {
    const current = connected.find((p) => p.activeSpeaker);
    const others = connected.filter((p) => p !== current);
    const next = this.pick(others);
    this.world.batch(() => {
      if (current) this.world.updateParticipant(call.id, current.id, { activeSpeaker: false });
      this.world.updateParticipant(call.id, next.id, { activeSpeaker: true });
    });
    return 1;
  }

  /** A layout change for everyone: one message with an update per participant. */
  private changeLayout(call: Call): number {
    const layout = this.pick(LAYOUTS);
    this.world.batch(() => {
      for (const person of call.roster) this.world.updateParticipant(call.id, person.id, { layout });
    });
    return 1;
  }

  private toggleRecording(call: Call): number {
    this.world.updateCall(call.id, { recording: call.recording === 'active' ? 'inactive' : 'active' });
    return 2;
  }

  /** The last one out ends the call: the roster remove, then the call's remove, no "participants: 0". */
  private leave(call: Call, person: Person, last: boolean, reason = this.pick(HANGUP_REASONS)): number {
    this.names.delete(person.id);
    if (last) {
      this.world.batch(() => {
        this.world.removeParticipant(call.id, person.id, reason);
        this.world.endCall(call.id, 'allLeft');
      });
      this.plans.delete(call.id);
      return 3;
    }
    this.world.removeParticipant(call.id, person.id, reason);
    return person.state === 'connected' || person.state === 'onHold' ? 3 : 1;
  }

  private endCall(call: Call, reason: string): number {
    for (const person of call.roster) this.names.delete(person.id);
    this.world.endCall(call.id, reason);
    this.plans.delete(call.id);
    // callListUpdate remove, then deactivated for its per-call subscriptions.
    return 2;
  }

  private planFor(callId: string): Plan {
    let plan = this.plans.get(callId);
    if (!plan) {
      plan = { size: 2 + Math.floor(this.random() * 5), endsAt: this.steps + 60 + Math.floor(this.random() * 140) };
      this.plans.set(callId, plan);
    }
    return plan;
  }

  /** Drops what the player remembers of calls and people that someone else removed. */
  private forgetEnded(calls: readonly Call[]): void {
    if (this.plans.size > calls.length) {
      const live = new Set(calls.map((c) => c.id));
      for (const id of this.plans.keys()) if (!live.has(id)) this.plans.delete(id);
    }
    if (this.names.size > FORGET_NAMES_ABOVE) {
      const present = new Set(calls.flatMap((c) => c.roster.map((p) => p.id)));
      for (const id of this.names.keys()) if (!present.has(id)) this.names.delete(id);
    }
  }

  private pick<T>(items: readonly T[]): T {
    return pick(this.random, items);
  }

  private pickWeighted<T>(weighted: ReadonlyArray<[number, T]>): T {
    return pickWeighted(this.random, weighted);
  }
}
