// A roster: one row per participant with their state, direction and flags, and with call control
// their buttons. Call cards and meeting cards draw the same rows; a meeting's rows also name the
// bridge hosting each participant, since a meeting spans several.
import type { ParticipantState } from '../api.js';
import { append, h, type Child } from '../dom.js';
import { pill } from './pill.js';

export interface RosterRow {
  participant: ParticipantState;
  /** Their control buttons; null without control. */
  controls: HTMLElement | null;
  /** The bridge hosting them, shown on a meeting's rows only. */
  host?: string;
}

/** Redraws `list` with the rows the search shows, out of `total` participants. */
export function drawRoster(list: HTMLElement, rows: readonly RosterRow[], total: number): void {
  const hidden = total - rows.length;
  list.replaceChildren();
  append(list, [
    rows.map(participantRow),
    total === 0 ? h('li', { class: 'roster__empty' }, 'Nobody on the roster yet.') : null,
    hidden > 0 ? h('li', { class: 'roster__empty' }, `${hidden} more not matching the search`) : null,
  ]);
}

function participantRow({ participant, controls, host }: RosterRow): HTMLElement {
  const flags: Child[] = [];
  if (host !== undefined) {
    flags.push(h('span', { class: 'bridge', testid: 'participant-server', title: `Hosted by ${host}` }, host));
  }
  if (participant.state) {
    flags.push(h('span', { class: `pstate pstate--${cssToken(participant.state)}`, testid: 'participant-state' }, participant.state));
  }
  if (participant.direction) {
    const incoming = participant.direction === 'incoming';
    const outgoing = participant.direction === 'outgoing';
    flags.push(
      h(
        'span',
        { class: 'direction', testid: 'participant-direction', title: participant.direction },
        incoming ? '↘ in' : outgoing ? '↗ out' : participant.direction,
      ),
    );
  }
  if (participant.audioMuted) flags.push(pill('Mic off', 'muted', 'audio-muted'));
  if (participant.videoMuted) flags.push(pill('Camera off', 'muted', 'video-muted'));
  if (participant.activeSpeaker) flags.push(pill('Speaking', 'speaker', 'active-speaker'));
  if (participant.presenter) flags.push(pill('Presenting', 'presenter', 'presenter'));
  return h(
    'li',
    {
      class: participant.activeSpeaker ? 'participant participant--speaking' : 'participant',
      testid: 'participant',
      title: participant.layout ? `layout: ${participant.layout}` : undefined,
      data: {
        participantId: participant.id,
        participantName: participant.name ?? '',
        server: host,
        state: participant.state,
        direction: participant.direction,
        audioMuted: participant.audioMuted ?? undefined,
        videoMuted: participant.videoMuted ?? undefined,
        activeSpeaker: participant.activeSpeaker ?? undefined,
        presenter: participant.presenter ?? undefined,
      },
    },
    h(
      'div',
      { class: 'participant__who' },
      h('span', { class: 'participant__name', testid: 'participant-name' }, participant.name || '(no name)'),
      participant.uri ? h('span', { class: 'participant__uri', testid: 'participant-uri' }, participant.uri) : null,
    ),
    h('div', { class: 'participant__flags' }, flags),
    controls,
  );
}

/** Server-sent values used in class names are reduced to letters and digits. */
function cssToken(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '');
}
