// What generated traffic picks from, and how: meeting and people names, rooms, hang-up reasons,
// who a newcomer is, and how a participant's call progresses. Shared by the per-bridge traffic
// (traffic.ts) and the distributed-meeting traffic (meeting-traffic.ts), so both play the same
// people the same way. Every draw comes from the `random` given, so a seeded run replays.
import type { ParticipantFields } from '../protocol/index.js';

export const MEETING_NAMES = ['Weekly Sync', 'Design Review', 'Sales Standup', 'Board Meeting', 'Incident Bridge', 'All Hands', 'Customer Call', 'Sprint Planning', '1:1', 'Training'];
export const PEOPLE = ['Kim Lee', 'Ana Souza', 'Ravi Patel', 'Jonas Berg', 'Mei Chen', 'Omar Haddad', 'Lucia Rossi', 'Tom Walsh', 'Aiko Tanaka', 'Sam Okafor'];
export const ROOMS = ['Room 4.12', 'Boardroom', 'Huddle 2', 'Lab East', 'Studio B'];
export const HANGUP_REASONS = [undefined, 'participantInitiated'];

export type Random = () => number;
type Person = ParticipantFields & { id: string };

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length) % items.length] as T;
}

export function pickWeighted<T>(random: Random, weighted: ReadonlyArray<[number, T]>): T {
  let total = 0;
  for (const [weight] of weighted) total += weight;
  let roll = random() * total;
  for (const [weight, item] of weighted) {
    roll -= weight;
    if (roll < 0) return item;
  }
  return weighted[weighted.length - 1]![1];
}

/**
 * Someone joining: 60% dial in (a person or a room, by a name-based URI), 40% are dialled out (a
 * number). The roster shows them nameless until they connect; `name` is who they turn out to be.
 * `dialNumber` hands out the numbers dialled.
 */
export function newcomer(random: Random, dialNumber: () => number, layout: string): { fields: ParticipantFields; name: string } {
  if (random() < 0.6) {
    const room = random() < 0.4;
    const name = room ? pick(random, ROOMS) : pick(random, PEOPLE);
    const uri = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@example.com`;
    return { fields: { name: '', uri, state: 'initial', direction: 'incoming', layout, canMove: !room }, name };
  }
  const uri = `${dialNumber()}@example.com`;
  return { fields: { name: '', uri, state: 'initial', direction: 'outgoing', layout }, name: pick(random, PEOPLE) };
}

/**
 * The next step of a participant not yet connected. Dial-in: initial → connected. Dial-out:
 * initial → ringing → connected, or no answer (1 in 10). Connecting fills in the name (`name`,
 * else one drawn) and, for a dialled number, `;x-cisco-number=`.
 */
export function progression(random: Random, person: Person, name: string | undefined): ParticipantFields | 'noAnswer' {
  if (person.direction === 'outgoing' && person.state === 'initial') return random() < 0.1 ? 'noAnswer' : { state: 'ringing' };
  const uri = person.uri ?? '';
  const user = uri.split('@', 1)[0] ?? '';
  const numbered = /^\d+$/.test(user) && !uri.includes(';x-cisco-number=');
  return {
    state: 'connected',
    name: person.name || name || pick(random, PEOPLE),
    ...(numbered ? { uri: `${uri};x-cisco-number=${user}` } : {}),
  };
}
