// Draws the model into the page and keeps it current. Servers and calls each own one element,
// redrawn only when the model says they changed; the order of calls follows their names.
import type { CmsEvent, ParticipantState, ServerView } from './api.js';
import { append, h, setText, type Child } from './dom.js';
import type { FeedStatus } from './feed.js';
import { showsServer, visibleRoster, type Filter } from './filter.js';
import {
  clockTime,
  countLabel,
  dateTime,
  eventDetail,
  eventInWords,
  rate,
  relativeTime,
  serverTrouble,
  spanInWords,
  splitWords,
  stateInWords,
} from './format.js';
import { historyKey, type CallEntry, type Changes, type DashboardModel } from './model.js';

const SEARCH_DEBOUNCE_MS = 120;

export interface ViewActions {
  selectCall(server: string, callId: string): void;
  closeHistory(): void;
  setFilter(filter: Filter): void;
}

interface ServerElements {
  root: HTMLElement;
  host: HTMLElement;
  state: HTMLElement;
  connected: HTMLElement;
  rate: HTMLElement;
  callCount: HTMLElement;
  participantCount: HTMLElement;
  error: HTMLElement;
  counters: HTMLElement;
  note: HTMLElement;
  calls: HTMLElement;
  empty: HTMLElement;
  callElements: Map<string, CallElements>;
}

/**
 * One call's elements live as long as the call: only their contents are redrawn, so a click
 * whose press and release straddle a redraw still lands on the same button.
 */
interface CallElements {
  root: HTMLElement;
  head: HTMLButtonElement;
  roster: HTMLElement;
}

export interface Selection {
  server: string;
  callId: string;
}

export class DashboardView {
  private readonly serverElements = new Map<string, ServerElements>();
  private readonly list: HTMLElement;
  private readonly placeholder: HTMLElement;
  private readonly connection: HTMLElement;
  private readonly totals: HTMLElement;
  private readonly serverSelect: HTMLSelectElement;
  private readonly search: HTMLInputElement;
  private readonly history: HTMLElement;
  private readonly historyTitle: HTMLElement;
  private readonly historySub: HTMLElement;
  private readonly historyList: HTMLElement;
  private filter: Filter;
  private selection: Selection | null = null;
  private feedStatus: FeedStatus = 'connecting';
  private apiReachable = true;
  private serversKnown = false;

  constructor(
    root: HTMLElement,
    private readonly model: DashboardModel,
    private readonly actions: ViewActions,
    initialFilter: Filter,
  ) {
    this.filter = initialFilter;
    this.connection = h('span', { class: 'connection', testid: 'connection', attrs: { role: 'status' } });
    this.totals = h('span', { class: 'totals', testid: 'totals' });
    this.serverSelect = h('select', { testid: 'server-filter', attrs: { 'aria-label': 'Server' } });
    this.search = h('input', {
      testid: 'search',
      attrs: {
        type: 'search',
        placeholder: 'Participant name or URI',
        'aria-label': 'Search participants by name or URI',
        autocomplete: 'off',
        spellcheck: 'false',
      },
    });
    this.search.value = initialFilter.query;
    this.serverSelect.addEventListener('change', () => this.filterInputChanged());
    let typing: ReturnType<typeof setTimeout> | undefined;
    this.search.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.filterInputChanged(), SEARCH_DEBOUNCE_MS);
    });

    this.list = h('div', { class: 'servers', testid: 'servers' });
    this.placeholder = h('p', { class: 'placeholder', testid: 'placeholder' }, 'Loading…');
    this.historyTitle = h('h2', { testid: 'history-title' });
    this.historySub = h('p', { class: 'history__sub' });
    this.historyList = h('ol', { class: 'history__list', testid: 'history-list' });
    this.history = h(
      'aside',
      { class: 'history', testid: 'call-history', hidden: true, attrs: { 'aria-label': 'Call history' } },
      h(
        'header',
        { class: 'history__head' },
        h('div', null, this.historyTitle, this.historySub),
        h(
          'button',
          {
            class: 'history__close',
            testid: 'history-close',
            attrs: { type: 'button', 'aria-label': 'Close history' },
            onClick: () => this.actions.closeHistory(),
          },
          '×',
        ),
      ),
      this.historyList,
    );

    root.replaceChildren(
      h(
        'header',
        { class: 'topbar' },
        h('div', { class: 'topbar__title' }, h('h1', null, 'cms-events'), this.connection),
        this.totals,
        h(
          'div',
          { class: 'filters' },
          h('label', { class: 'filters__server' }, h('span', { class: 'sr-only' }, 'Server'), this.serverSelect),
          h('label', { class: 'filters__search' }, h('span', { class: 'sr-only' }, 'Search'), this.search),
        ),
      ),
      h('main', { class: 'layout' }, h('div', { class: 'layout__servers' }, this.placeholder, this.list), this.history),
    );
    this.renderConnection();
    this.renderServerOptions();
  }

  setFeedStatus(status: FeedStatus): void {
    this.feedStatus = status;
    this.renderConnection();
  }

  setApiReachable(reachable: boolean): void {
    this.apiReachable = reachable;
    this.renderConnection();
  }

  setFilter(filter: Filter): void {
    this.filter = filter;
    if (this.serverSelect.value !== (filter.server ?? '')) this.renderServerOptions();
    if (this.search.value !== filter.query) this.search.value = filter.query;
    this.renderAll();
  }

  select(selection: Selection | null): void {
    const previous = this.selection;
    this.selection = selection;
    for (const sel of [previous, selection]) {
      if (sel) this.renderCall(sel.server, sel.callId);
    }
    this.renderHistory();
  }

  /** Redraws what changed in the model. */
  render(changes: Changes): void {
    if (changes.serverList) this.renderServerList();
    for (const name of changes.servers) this.renderServerHead(name);
    for (const [server, ids] of changes.calls) {
      for (const id of ids) this.renderCall(server, id);
      this.orderCalls(server);
    }
    if (this.selection && changes.histories.has(historyKey(this.selection.server, this.selection.callId))) {
      this.renderHistory();
    }
    if (changes.serverList || changes.servers.size || changes.calls.size) this.renderTotals();
  }

  /** Relative times ("12 s ago") move on without any event. */
  tick(now = Date.now()): void {
    for (const element of this.list.querySelectorAll<HTMLTimeElement>('time[data-rel]')) {
      setText(element, relativeText(element.dataset.rel ?? '', element.dateTime, now));
    }
  }

  private renderAll(): void {
    this.renderServerList();
    for (const name of this.serverElements.keys()) {
      this.renderServerHead(name);
      const elements = this.serverElements.get(name);
      if (!elements) continue;
      const ids = new Set([...elements.callElements.keys(), ...this.model.callsOf(name).map((e) => e.call.id)]);
      for (const id of ids) this.renderCall(name, id);
      this.orderCalls(name);
    }
    this.renderTotals();
    this.renderHistory();
  }

  private filterInputChanged(): void {
    this.actions.setFilter({ server: this.serverSelect.value || null, query: this.search.value });
  }

  private renderConnection(): void {
    let state: string;
    let text: string;
    if (this.feedStatus === 'live' && this.apiReachable) {
      state = 'live';
      text = 'Live';
    } else if (this.feedStatus === 'connecting') {
      state = 'connecting';
      text = 'Connecting…';
    } else {
      state = 'lost';
      text = this.apiReachable ? 'Reconnecting…' : 'Daemon unreachable · reconnecting…';
    }
    this.connection.dataset.state = state;
    setText(this.connection, text);
  }

  private renderServerOptions(): void {
    const names = this.model.serverNames();
    const wanted = this.filter.server;
    if (wanted !== null && !names.includes(wanted)) names.push(wanted);
    this.serverSelect.replaceChildren(
      h('option', { attrs: { value: '' } }, 'All servers'),
      ...names.map((name) => h('option', { attrs: { value: name } }, name)),
    );
    this.serverSelect.value = wanted ?? '';
  }

  private renderServerList(): void {
    const names = this.model.serverNames();
    for (const [name, elements] of this.serverElements) {
      if (this.model.servers.has(name)) continue;
      elements.root.remove();
      this.serverElements.delete(name);
    }
    const shown: HTMLElement[] = [];
    for (const name of names) {
      let elements = this.serverElements.get(name);
      if (!elements) {
        elements = createServerElements(name);
        this.serverElements.set(name, elements);
        this.renderServerHead(name);
      }
      if (showsServer(this.filter, name)) shown.push(elements.root);
    }
    if (!sameChildren(this.list, shown)) this.list.replaceChildren(...shown);
    this.renderServerOptions();
    this.renderPlaceholder();
  }

  /** Called once the first server list arrived (or failed). */
  markServersKnown(): void {
    this.serversKnown = true;
    this.renderPlaceholder();
  }

  private renderPlaceholder(): void {
    let text = '';
    if (!this.serversKnown) text = 'Loading…';
    else if (this.model.servers.size === 0) text = 'No servers are configured.';
    else if (this.list.childElementCount === 0) text = 'No server matches the filter.';
    this.placeholder.hidden = text === '';
    setText(this.placeholder, text);
  }

  private renderServerHead(name: string): void {
    const elements = this.serverElements.get(name);
    const server = this.model.servers.get(name);
    if (!elements || !server) return;
    const now = Date.now();
    elements.root.dataset.state = server.state;
    setText(elements.host, server.host ? `${server.host}:${server.port}` : '');
    elements.state.className = `state state--${server.state}`;
    setText(elements.state, stateInWords(server.state));
    elements.state.title = `${stateInWords(server.state)} since ${dateTime(server.since)}`;

    if (server.state === 'live' && server.connectedSince) {
      elements.connected.replaceChildren(timeElement('for', server.connectedSince, now));
    } else {
      elements.connected.replaceChildren('not connected');
    }
    setText(elements.rate, rate(server.eventsPerSecond));
    setText(elements.callCount, String(this.model.isLoaded(name) ? this.model.callCount(name) : server.calls));

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
    this.renderServerNote(name, server);
  }

  private renderServerNote(name: string, server: ServerView): void {
    const elements = this.serverElements.get(name);
    if (!elements) return;
    const stale = server.state !== 'live' && elements.callElements.size > 0;
    elements.calls.classList.toggle('calls--stale', stale);
    elements.note.hidden = !stale;
    setText(elements.note, stale ? 'The feed is not live: calls as last seen.' : '');
  }

  private renderCall(server: string, callId: string): void {
    const elements = this.serverElements.get(server);
    if (!elements) return;
    const entry = this.model.call(server, callId);
    let call = elements.callElements.get(callId);
    const roster = entry ? visibleRoster(entry, this.filter) : null;
    if (!entry || !roster) {
      if (call) {
        call.root.remove();
        elements.callElements.delete(callId);
      }
      return;
    }
    if (!call) {
      call = createCallElements(() => this.actions.selectCall(server, callId));
      elements.callElements.set(callId, call);
    }
    const selected = this.selection?.server === server && this.selection.callId === callId;
    drawCall(call, entry, roster, selected);
  }

  private orderCalls(server: string): void {
    const elements = this.serverElements.get(server);
    const status = this.model.servers.get(server);
    if (!elements) return;
    const entries = this.model.callsOf(server);
    const ordered: HTMLElement[] = [];
    for (const entry of entries) {
      const element = elements.callElements.get(entry.call.id);
      if (element) ordered.push(element.root);
    }
    if (!sameChildren(elements.calls, ordered)) elements.calls.replaceChildren(...ordered);
    let empty = '';
    if (ordered.length === 0) {
      if (entries.length > 0) empty = 'No call matches the search.';
      else empty = this.model.isLoaded(server) ? 'No live calls.' : 'Loading calls…';
    }
    elements.empty.hidden = empty === '';
    setText(elements.empty, empty);
    if (this.model.isLoaded(server)) setText(elements.callCount, String(entries.length));
    setText(elements.participantCount, String(this.model.participantCount(server)));
    if (status) this.renderServerNote(server, status);
  }

  private renderTotals(): void {
    let live = 0;
    let calls = 0;
    let participants = 0;
    for (const [name, server] of this.model.servers) {
      if (server.state === 'live') live += 1;
      calls += this.model.callCount(name);
      participants += this.model.participantCount(name);
    }
    setText(
      this.totals,
      `${live} of ${countLabel(this.model.servers.size, 'server', 'servers')} live · ` +
        `${countLabel(calls, 'call', 'calls')} · ${countLabel(participants, 'participant', 'participants')}`,
    );
  }

  private renderHistory(): void {
    const selection = this.selection;
    this.history.hidden = selection === null;
    document.body.classList.toggle('history-open', selection !== null);
    if (!selection) return;
    const events = this.model.history(selection.server, selection.callId);
    const entry = this.model.call(selection.server, selection.callId);
    const last = events[events.length - 1];
    const lastCall = last && 'call' in last ? last.call : undefined;
    const name = entry?.call.name || lastCall?.name || selection.callId;
    setText(this.historyTitle, name);
    const facts = [selection.server, countLabel(events.length, 'event', 'events') + ' seen since this page opened'];
    if (!entry) facts.push('call ended');
    setText(this.historySub, facts.join(' · '));
    this.history.dataset.server = selection.server;
    this.history.dataset.callId = selection.callId;
    this.historyList.replaceChildren(...[...events].reverse().map(historyItem));
    if (events.length === 0) {
      this.historyList.append(h('li', { class: 'empty' }, 'No events yet: they appear here as they happen.'));
    }
  }
}

function createServerElements(name: string): ServerElements {
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
  const counters = h('dl', { class: 'counters' });
  const note = h('p', { class: 'server__note', hidden: true });
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
    error,
    h('details', { class: 'server__counters' }, h('summary', null, 'Counters'), counters),
    note,
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
    counters,
    note,
    calls,
    empty,
    callElements: new Map(),
  };
}

function createCallElements(onSelect: () => void): CallElements {
  const head = h('button', {
    class: 'call__head',
    testid: 'call-open',
    attrs: { type: 'button', title: 'Show the latest events of this call' },
    onClick: onSelect,
  });
  const roster = h('ul', { class: 'roster', testid: 'roster' });
  return { root: h('article', { class: 'call', testid: 'call' }, head, roster), head, roster };
}

function drawCall(elements: CallElements, entry: CallEntry, roster: ParticipantState[], selected: boolean): void {
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

  const hidden = entry.roster.size - roster.length;
  elements.roster.replaceChildren();
  append(elements.roster, [
    roster.map(participantElement),
    entry.roster.size === 0 ? h('li', { class: 'roster__empty' }, 'Nobody on the roster yet.') : null,
    hidden > 0 ? h('li', { class: 'roster__empty' }, `${hidden} more not matching the search`) : null,
  ]);
}

function participantElement(participant: ParticipantState): HTMLElement {
  const flags: Child[] = [];
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
  );
}

function historyItem(event: CmsEvent): HTMLElement {
  return h(
    'li',
    { class: `history__item history__item--${event.type.replace('.', '-')}`, testid: 'history-event', data: { type: event.type } },
    h('time', { attrs: { datetime: event.ts }, title: dateTime(event.ts) }, clockTime(event.ts)),
    h('span', { class: 'history__type' }, eventInWords(event)),
    event.synthetic ? h('span', { class: 'pill pill--synthetic', title: 'Inferred after a reconnect' }, 'inferred') : null,
    h('span', { class: 'history__detail' }, eventDetail(event)),
  );
}

function pill(text: string, kind: string, testid: string): HTMLElement {
  return h('span', { class: `pill pill--${kind}`, testid }, text);
}

function timeElement(mode: 'ago' | 'for' | 'until', iso: string, now: number): HTMLTimeElement {
  return h(
    'time',
    { data: { rel: mode }, attrs: { datetime: iso }, title: dateTime(iso) },
    relativeText(mode, iso, now),
  );
}

function relativeText(mode: string, iso: string, now: number): string {
  if (mode === 'for') {
    const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    return Number.isNaN(seconds) ? '' : `for ${spanInWords(seconds)}`;
  }
  if (mode === 'until') {
    const text = relativeTime(iso, now);
    return text.startsWith('in ') ? text : 'now';
  }
  return relativeTime(iso, now);
}

/** Server-sent values used in class names are reduced to letters and digits. */
function cssToken(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '');
}

function sameChildren(parent: Element, wanted: readonly Element[]): boolean {
  const current = parent.children;
  if (current.length !== wanted.length) return false;
  for (let i = 0; i < wanted.length; i += 1) if (current[i] !== wanted[i]) return false;
  return true;
}
