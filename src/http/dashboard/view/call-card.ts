// One call's card: its head (name, type, count, flags) as the button that opens its history, and
// its roster of participants (roster.ts); with call control, its buttons (control-buttons.ts).
import type { ParticipantState } from '../api.js';
import type { ControlClient } from '../control.js';
import { h, type Child } from '../dom.js';
import { countLabel } from '../format.js';
import type { CallEntry } from '../model.js';
import { callControls, participantControls } from './control-buttons.js';
import { pill } from './pill.js';
import { drawRoster } from './roster.js';

/**
 * One call's elements live as long as the call: only their contents are redrawn, so a click
 * whose press and release straddle a redraw still lands on the same button.
 */
export interface CallElements {
  root: HTMLElement;
  head: HTMLButtonElement;
  roster: HTMLElement;
  /** The call's control buttons; empty without control. */
  actions: HTMLElement;
}

export function createCallElements(onSelect: () => void): CallElements {
  const head = h('button', {
    class: 'call__head',
    testid: 'call-open',
    attrs: { type: 'button', title: 'Show the latest events of this call' },
    onClick: onSelect,
  });
  const roster = h('ul', { class: 'roster', testid: 'roster' });
  const actions = h('div', { class: 'call__actions', hidden: true });
  return { root: h('article', { class: 'call', testid: 'call' }, head, actions, roster), head, roster, actions };
}

/** Redraws the card for the call as it is now; `roster` is the part the search shows. */
export function drawCall(
  elements: CallElements,
  entry: CallEntry,
  roster: ParticipantState[],
  selected: boolean,
  control: ControlClient | null = null,
): void {
  const call = entry.call;
  const root = elements.root;
  root.className = selected ? 'call call--selected' : 'call';
  const data: Record<string, string | null | undefined> = {
    callId: call.id,
    callName: call.name ?? '',
    recording: call.recording,
    streaming: call.streaming,
    lockState: call.lockState,
    callType: call.callType,
  };
  for (const [key, value] of Object.entries(data)) {
    if (value === null || value === undefined) delete root.dataset[key];
    else root.dataset[key] = value;
  }
  elements.head.setAttribute('aria-pressed', selected ? 'true' : 'false');

  const flags: Child[] = [];
  if (call.recording === 'active') flags.push(pill('Recording', 'rec', 'call-recording'));
  if (call.endpointRecording === 'active') flags.push(pill('Endpoint recording', 'rec', 'call-endpoint-recording'));
  if (call.streaming === 'active') flags.push(pill('Streaming', 'stream', 'call-streaming'));
  if (call.lockState === 'locked') flags.push(pill('Locked', 'lock', 'call-locked'));
  const count = call.participants ?? entry.roster.size;
  const countText =
    countLabel(count, 'participant', 'participants') +
    (count !== entry.roster.size ? ` (${entry.roster.size} on roster)` : '');
  elements.head.replaceChildren(
    h('span', { class: 'call__name', testid: 'call-name' }, call.name || '(unnamed call)'),
    h(
      'span',
      { class: 'call__meta' },
      call.callType ? h('span', { class: 'call__type', testid: 'call-type' }, call.callType) : null,
      h('span', { class: 'call__count', testid: 'participant-count' }, countText),
      flags,
    ),
  );

  elements.actions.hidden = control === null;
  elements.actions.replaceChildren(...(control ? [callControls(control, entry.server, call)] : []));

  const rows = roster.map((participant) => ({
    participant,
    controls: control && participantControls(control, entry.server, call.id, participant),
  }));
  drawRoster(elements.roster, rows, entry.roster.size);
}
