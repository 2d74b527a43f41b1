// One meeting spread over several bridges: its head (name, bridges, participants once each) as the
// button that opens its first call's history, and its participants drawn as a call card draws
// them (roster.ts), each with the bridge hosting them. Control acts where the participant is
// hosted: that bridge's server and call, through the same per-call routes as a call card's.
import type { ControlClient } from '../control.js';
import { h, type Child } from '../dom.js';
import { countLabel } from '../format.js';
import type { MeetingMember, SpreadMeeting } from '../model.js';
import { participantControls } from './control-buttons.js';
import { pill } from './pill.js';
import { drawRoster } from './roster.js';

/** Like a call's elements, they live as long as the meeting: only their contents are redrawn. */
export interface MeetingElements {
  root: HTMLElement;
  head: HTMLButtonElement;
  roster: HTMLElement;
}

export function createMeetingElements(onSelect: () => void): MeetingElements {
  const head = h('button', {
    class: 'call__head',
    testid: 'meeting-open',
    attrs: { type: 'button' },
    onClick: onSelect,
  });
  const roster = h('ul', { class: 'roster', testid: 'roster' });
  return { root: h('article', { class: 'call meeting', testid: 'meeting' }, head, roster), head, roster };
}

/** Redraws the card for the meeting as it is now; `members` is the part the search shows. */
export function drawMeeting(
  elements: MeetingElements,
  meeting: SpreadMeeting,
  members: readonly MeetingMember[],
  selected: boolean,
  control: ControlClient | null,
): void {
  const root = elements.root;
  root.className = selected ? 'call meeting call--selected' : 'call meeting';
  root.dataset.meetingId = meeting.id;
  root.dataset.meetingName = meeting.name;
  root.dataset.servers = meeting.servers.join(',');
  elements.head.setAttribute('aria-pressed', selected ? 'true' : 'false');
  const first = meeting.calls[0];
  elements.head.title = first ? `Show the latest events of its call on ${first.server}` : '';

  // Recording or streaming on any bridge is recording or streaming of the meeting.
  const flags: Child[] = [];
  if (meeting.calls.some((entry) => entry.call.recording === 'active')) flags.push(pill('Recording', 'rec', 'call-recording'));
  if (meeting.calls.some((entry) => entry.call.streaming === 'active')) flags.push(pill('Streaming', 'stream', 'call-streaming'));
  elements.head.replaceChildren(
    h('span', { class: 'call__name', testid: 'meeting-name' }, meeting.name || '(unnamed meeting)'),
    h(
      'span',
      { class: 'call__meta' },
      h(
        'span',
        { class: 'meeting__servers', testid: 'meeting-servers', title: 'The bridges it spans' },
        'across ',
        meeting.servers.map((server) => h('span', { class: 'bridge', testid: 'meeting-server' }, server)),
      ),
      h('span', { class: 'call__count', testid: 'participant-count' }, countLabel(meeting.members.length, 'participant', 'participants')),
      flags,
    ),
  );

  const rows = members.map((member) => ({
    participant: member.participant,
    host: member.server,
    controls: control && participantControls(control, member.server, member.callId, member.participant),
  }));
  drawRoster(elements.roster, rows, meeting.members.length);
}
