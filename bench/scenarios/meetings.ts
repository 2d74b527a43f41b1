// What the meetings model (src/state/meetings.ts) adds to each message's path. Every message's
// events pass through it in the pipeline, so its cost is per message. In-process and precise:
// a recorded stream of real ServerState events (a fleet of bridge pairs, each pair hosting
// spread meetings, some people listed by both bridges; mostly mute toggles, some joins and
// leaves, calls starting and ending) is run through the pipeline's per-event bookkeeping alone
// (A) and through the meetings model and that bookkeeping (B), in alternating passes (A B A B …,
// median). The difference is set against the daemon's CPU per message from the other benchmarks.
import { seededRandom } from '../../src/simulator/seeded-random.js';
import type * as State from '../../src/state/index.js';
import { loadDist } from '../lib/dist.js';
import { loadNow, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { median, round } from '../lib/stats.js';

type StateModule = typeof State;
type Message = { server: string; events: State.CmsEvent[] };

/** Real per-server events for `count` messages over `pairs` bridge pairs. */
function recordStream(state: StateModule, pairs: number, count: number): Message[] {
  const random = seededRandom(20261203);
  const servers = Array.from({ length: pairs * 2 }, (_, i) => `cms-${i}`);
  const models = new Map(servers.map((name) => [name, new state.ServerState({ server: name })]));
  const messages: Message[] = [];
  // Per pair: one meeting at a time, its call id on each bridge, and who is in it on each.
  const meetings = Array.from({ length: pairs }, (_, pair) => ({ pair, generation: 0, people: [[], []] as string[][] }));
  const callId = (pair: number, side: number, generation: number) => `call-${pair}-${side}-${generation}`;
  const push = (server: string, events: State.CmsEvent[]) => {
    if (events.length > 0) messages.push({ server, events });
  };
  const start = (m: (typeof meetings)[number]) => {
    for (const side of [0, 1]) {
      const server = servers[m.pair * 2 + side]!;
      push(server, models.get(server)!.applyCallList([{ call: callId(m.pair, side, m.generation), updateType: 'add', name: `Meeting ${m.pair}`, callCorrelator: `corr-${m.pair}-${m.generation}` }]));
    }
  };
  for (const m of meetings) start(m);
  let person = 0;
  while (messages.length < count) {
    const m = meetings[Math.floor(random() * meetings.length)]!;
    const side = random() < 0.5 ? 0 : 1;
    const server = servers[m.pair * 2 + side]!;
    const model = models.get(server)!;
    const call = callId(m.pair, side, m.generation);
    const people = m.people[side]!;
    const roll = random();
    if (roll < 0.01) {
      // The meeting ends on both bridges and a new one starts.
      for (const s of [0, 1]) {
        const name = servers[m.pair * 2 + s]!;
        push(name, models.get(name)!.applyCallList([{ call: callId(m.pair, s, m.generation), updateType: 'remove' }]));
      }
      m.generation++;
      m.people = [[], []];
      start(m);
    } else if (roll < 0.06 || people.length === 0) {
      const id = `p-${person++}`;
      people.push(id);
      push(server, model.applyRoster(call, [{ participant: id, updateType: 'add', name: id, state: 'connected', audioMuted: false }]));
      // One in five is listed by the other bridge too (same cluster-wide id).
      if (random() < 0.2) {
        const other = servers[m.pair * 2 + (1 - side)]!;
        push(other, models.get(other)!.applyRoster(callId(m.pair, 1 - side, m.generation), [{ participant: id, updateType: 'add', name: id, state: 'connected' }]));
      }
    } else if (roll < 0.1 && people.length > 1) {
      const id = people.splice(Math.floor(random() * people.length), 1)[0]!;
      push(server, model.applyRoster(call, [{ participant: id, updateType: 'remove' }]));
    } else {
      const id = people[Math.floor(random() * people.length)]!;
      push(server, model.applyRoster(call, [{ participant: id, updateType: 'update', audioMuted: random() < 0.5 }]));
    }
  }
  return messages;
}

/** The pipeline's own per-event bookkeeping (ServerPipeline counts every event by type). */
function count(events: readonly State.CmsEvent[], counts: Map<string, number>): void {
  for (const event of events) counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
}

function passWithout(stream: readonly Message[]): number {
  const counts = new Map<string, number>();
  const t0 = process.cpuUsage();
  for (const { events } of stream) count(events, counts);
  const used = process.cpuUsage(t0);
  return used.user + used.system;
}

function passWith(state: StateModule, stream: readonly Message[]): { micros: number; meetingEvents: number } {
  const counts = new Map<string, number>();
  // Host lookups are the hub's (REST); here they are only counted, as the hub would queue them.
  let shared = 0;
  const meetings = new state.Meetings({ onSharedParticipant: () => void shared++ });
  const t0 = process.cpuUsage();
  for (const { server, events } of stream) count(meetings.apply(server, events), counts);
  const used = process.cpuUsage(t0);
  return { micros: used.user + used.system, meetingEvents: (counts.get('meeting.started') ?? 0) + (counts.get('meeting.ended') ?? 0) };
}

export const meetings: Benchmark = {
  name: 'meetings',
  title: 'What the meetings model adds per message (in-process, alternating passes)',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const state = await loadDist<StateModule>('state/index.js');
    const pairs = 50;
    const messageCount = ctx.quick ? 50_000 : 200_000;
    const passes = ctx.runs ?? (ctx.quick ? 5 : 11);
    const stream = recordStream(state, pairs, messageCount);
    const events = stream.reduce((sum, m) => sum + m.events.length, 0);
    const without: number[] = [];
    const withMeetings: number[] = [];
    let meetingEvents = 0;
    // One warm-up pass each, then A B A B …
    passWithout(stream);
    passWith(state, stream);
    for (let i = 0; i < passes; i++) {
      without.push(passWithout(stream));
      const pass = passWith(state, stream);
      withMeetings.push(pass.micros);
      meetingEvents = pass.meetingEvents;
    }
    const perMessage = (micros: number) => micros / stream.length;
    const a = median(without.map(perMessage));
    const b = median(withMeetings.map(perMessage));
    const added = median(withMeetings.map((w, i) => perMessage(w - without[i]!)));
    ctx.log(
      `  ${stream.length.toLocaleString('en-US')} messages (${events.toLocaleString('en-US')} events, ${meetingEvents} meeting events) over ${pairs * 2} bridges, ${passes} passes each (load ${loadNow()}): ` +
        `${a.toFixed(3)} µs/msg without, ${b.toFixed(3)} µs/msg with, added ${added.toFixed(3)} µs/msg`,
    );
    const row = (figure: string, value: string, target = '') => ({ benchmark: 'meetings', figure, value, baseline: '', ratio: '', target, verdict: 'info' as const, runs: `${passes} passes` });
    return {
      data: { messages: stream.length, events, meetingEvents, passes, withoutMicrosPerMessage: round(a, 4), withMicrosPerMessage: round(b, 4), addedMicrosPerMessage: round(added, 4) },
      rows: [
        row('pipeline bookkeeping alone, CPU per message', `${a.toFixed(3)} µs`),
        row('with the meetings model, CPU per message', `${b.toFixed(3)} µs`),
        row('added by the meetings model, per message (median of pass differences)', `${added.toFixed(3)} µs`, 'small against the daemon\'s 60–130 µs per message'),
      ],
    };
  },
};


