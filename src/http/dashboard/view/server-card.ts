// One server's card: its head (host, state, connection, rates, last error, counters) and the list
// its call cards are kept in, in call-name order, with a word when the list is empty or stale.
// Its calls that are parts of meetings spread over several bridges are shown in those meetings'
// cards instead (meetings-section.ts): the card says how many, and still counts them.
import type { ServerView } from '../api.js';
import { append, h, setText, type Child } from '../dom.js';
import { countLabel, dateTime, rate, serverTrouble, splitWords, stateInWords } from '../format.js';
import type { DashboardModel } from '../model.js';
import type { CallElements } from './call-card.js';
import { timeElement } from './relative-time.js';
import { setChildren } from './set-children.js';

export interface ServerElements {
  root: HTMLElement;
  host: HTMLElement;
  state: HTMLElement;
  connected: HTMLElement;
  rate: HTMLElement;
  callCount: HTMLElement;
  participantCount: HTMLElement;
  error: HTMLElement;
  /** The CMS's version, active legs and alarm badges. */
  health: HTMLElement;
  counters: HTMLElement;
  note: HTMLElement;
  meetingNote: HTMLElement;
  calls: HTMLElement;
  empty: HTMLElement;
  callElements: Map<string, CallElements>;
}

export function createServerElements(name: string): ServerElements {
  const fact = (label: string, testid: string): [HTMLElement, HTMLElement] => {
    const value = h('dd', { testid });
    return [h('div', null, h('dt', null, label), value), value];
  };
  const [connectedFact, connected] = fact('Connected', 'server-connected');
  const [rateFact, rateValue] = fact('Events/s', 'server-rate');
  const [callsFact, callCount] = fact('Calls', 'server-call-count');
  const [participantsFact, participantCount] = fact('Participants', 'server-participant-count');
  const host = h('span', { class: 'server__host' });
  const state = h('span', { class: 'state', testid: 'server-state' });
  const error = h('p', { class: 'server__error', testid: 'server-error', hidden: true, attrs: { role: 'alert' } });
  const health = h('p', { class: 'server__health', testid: 'server-health', hidden: true });
  const counters = h('dl', { class: 'counters' });
  const note = h('p', { class: 'server__note', testid: 'server-note', hidden: true });
  const meetingNote = h('p', { class: 'server__meetings', testid: 'server-meeting-note', hidden: true });
  const calls = h('div', { class: 'calls', testid: 'calls' });
  const empty = h('p', { class: 'empty' }, 'Loading calls…');
  const root = h(
    'section',
    { class: 'server', testid: 'server', data: { server: name } },
    h(
      'header',
      { class: 'server__head' },
      h('h2', { class: 'server__name', testid: 'server-name' }, name),
      host,
      state,
    ),
    h('dl', { class: 'server__facts' }, connectedFact, rateFact, callsFact, participantsFact),
    health,
    error,
    h('details', { class: 'server__counters' }, h('summary', null, 'Counters'), counters),
    note,
    meetingNote,
    calls,
    empty,
  );
  return {
    root,
    host,
    state,
    connected,
    rate: rateValue,
    callCount,
    participantCount,
    error,
    health,
    counters,
    note,
    meetingNote,
    calls,
    empty,
    callElements: new Map(),
  };
}

/** Redraws the head; `callCount` is the model's once its calls loaded, the daemon's until then. */
export function renderServerHead(elements: ServerElements, server: ServerView, callCount: number): void {
  const now = Date.now();
  elements.root.dataset.state = server.state;
  setText(elements.host, server.host ? `${server.host}:${server.port}` : '');
  elements.state.className = `state state--${server.state}`;
  setText(elements.state, stateInWords(server.state));
  elements.state.title = server.owner ? `followed by ${server.owner}` : `${stateInWords(server.state)} since ${dateTime(server.since)}`;

  if (server.state === 'live' && server.connectedSince) {
    elements.connected.replaceChildren(timeElement('for', server.connectedSince, now));
  } else {
    elements.connected.replaceChildren('not connected');
  }
  setText(elements.rate, rate(server.eventsPerSecond));
  setText(elements.callCount, String(callCount));

  const trouble = serverTrouble(server);
  elements.error.hidden = trouble === '';
  elements.error.classList.toggle('server__error--past', server.state === 'live');
  if (trouble && server.lastError) {
    const parts: Child[] = [
      server.state === 'live' ? 'Last error: ' : '',
      trouble,
      ' · ',
      timeElement('ago', server.lastError.at, now),
    ];
    if (server.state === 'backoff' && server.nextAttemptAt) {
      parts.push(' · next attempt ', timeElement('until', server.nextAttemptAt, now));
    }
    elements.error.replaceChildren();
    append(elements.error, parts);
  }
  elements.counters.replaceChildren(
    ...Object.entries(server.counters ?? {}).map(([key, value]) =>
      h('div', null, h('dt', null, splitWords(key)), h('dd', null, String(value))),
    ),
  );
  renderHealth(elements.health, server);
  renderServerNote(elements, server);
}

/** The CMS's own word on itself: its version, active call legs and alarms (one badge each). */
function renderHealth(element: HTMLElement, server: ServerView): void {
  const cms = server.cms;
  element.hidden = !cms || (cms.version === null && cms.alarms.length === 0);
  if (!cms || element.hidden) return;
  const facts = [cms.version ? `CMS ${cms.version}` : '', cms.callLegsActive !== null ? countLabel(cms.callLegsActive, 'active call leg', 'active call legs') : ''].filter(Boolean).join(' · ');
  element.replaceChildren(
    facts,
    ...cms.alarms.map((alarm) =>
      h('span', { class: 'alarm', testid: 'server-alarm', attrs: { title: `${alarm.failureReason ? `${alarm.failureReason} · ` : ''}since ${dateTime(alarm.since)}` } }, splitWords(alarm.type)),
    ),
  );
}

/**
 * Calls of a server whose feed is down may be gone already, and calls kept from before the
 * daemon's restart are not confirmed until the server's snapshot: both are shown dimmed, with a note.
 */
export function renderServerNote(elements: ServerElements, server: ServerView): void {
  const restored = server.restored === true && elements.callElements.size > 0;
  const stale = restored || (server.state !== 'live' && elements.callElements.size > 0);
  elements.calls.classList.toggle('calls--stale', stale);
  elements.note.hidden = !stale;
  const note = restored ? 'Kept from before the daemon restarted: not yet confirmed by the server.' : 'The feed is not live: calls as last seen.';
  setText(elements.note, stale ? note : '');
}

/** Puts the drawn call cards in the model's order and updates the counts and empty-list words. */
export function orderCalls(elements: ServerElements, server: string, model: DashboardModel): void {
  const status = model.servers.get(server);
  const entries = model.callsOf(server);
  const ordered: HTMLElement[] = [];
  let parts = 0;
  for (const entry of entries) {
    if (model.spreadMeetingOf(server, entry.call.id) !== undefined) parts += 1;
    const element = elements.callElements.get(entry.call.id);
    if (element) ordered.push(element.root);
  }
  setChildren(elements.calls, ordered);
  let empty = '';
  if (ordered.length === 0) {
    if (entries.length > parts) empty = 'No call matches the search.';
    else if (parts === 0) empty = model.isLoaded(server) ? 'No live calls.' : 'Loading calls…';
  }
  elements.meetingNote.hidden = parts === 0;
  setText(elements.meetingNote, parts === 0 ? '' : meetingNote(parts));
  elements.empty.hidden = empty === '';
  setText(elements.empty, empty);
  if (model.isLoaded(server)) setText(elements.callCount, String(entries.length));
  setText(elements.participantCount, String(model.participantCount(server)));
  if (status) renderServerNote(elements, status);
}

function meetingNote(parts: number): string {
  const calls = countLabel(parts, 'call is part of a meeting', 'calls are parts of meetings');
  return `${calls} across bridges, shown above.`;
}
