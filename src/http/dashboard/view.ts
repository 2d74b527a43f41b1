// Draws the model into the page and keeps it current. Servers and calls each own one element,
// redrawn only when the model says they changed; the order of calls follows their names. Calls
// that are parts of a meeting spread over several bridges are drawn in that meeting's card, above
// the servers, instead of in their servers' cards; they move back when the meeting is on one
// bridge again. The parts are drawn by view/: this class decides what to redraw and where it goes.
import type { ControlClient } from './control.js';
import { h, setText } from './dom.js';
import type { FeedStatus } from './feed.js';
import { showsServer, visibleRoster, type Filter } from './filter.js';
import { historyKey, type Changes, type DashboardModel } from './model.js';
import { callKey } from './model/meetings.js';
import { createCallElements, drawCall } from './view/call-card.js';
import { HistoryPanel, type Selection } from './view/history-panel.js';
import { MeetingsSection } from './view/meetings-section.js';
import { refreshRelativeTimes } from './view/relative-time.js';
import {
  createServerElements,
  orderCalls,
  renderServerHead,
  type ServerElements,
} from './view/server-card.js';
import { setChildren } from './view/set-children.js';
import { TopBar } from './view/top-bar.js';

export type { Selection } from './view/history-panel.js';

export interface ViewActions {
  selectCall(server: string, callId: string): void;
  closeHistory(): void;
  setFilter(filter: Filter): void;
}

export class DashboardView {
  private readonly serverElements = new Map<string, ServerElements>();
  private readonly topBar: TopBar;
  private readonly list: HTMLElement;
  private readonly placeholder: HTMLElement;
  private readonly history: HistoryPanel;
  private readonly meetings: MeetingsSection;
  /** The calls (callKey) drawn in meeting cards at the last redraw, to see which move in or out. */
  private inMeetings = new Map<string, { server: string; callId: string }>();
  private filter: Filter;
  private selection: Selection | null = null;
  private serversKnown = false;
  private control: ControlClient | null = null;
  private readonly root: HTMLElement;

  constructor(
    root: HTMLElement,
    private readonly model: DashboardModel,
    private readonly actions: ViewActions,
    initialFilter: Filter,
  ) {
    this.filter = initialFilter;
    this.topBar = new TopBar(model, (filter) => this.actions.setFilter(filter), initialFilter.query);
    this.list = h('div', { class: 'servers', testid: 'servers' });
    this.placeholder = h('p', { class: 'placeholder', testid: 'placeholder' }, 'Loading…');
    this.history = new HistoryPanel(() => this.actions.closeHistory());
    this.meetings = new MeetingsSection((server, callId) => this.actions.selectCall(server, callId));
    root.replaceChildren(
      this.topBar.element,
      h(
        'main',
        { class: 'layout' },
        h('div', { class: 'layout__servers' }, this.placeholder, this.meetings.element, this.list),
        this.history.element,
      ),
    );
    this.topBar.renderServerOptions(this.filter.server);
    root.dataset.control = 'unknown';
    this.root = root;
  }

  /** Call control on (its client) or off (null): every call is redrawn with or without buttons. */
  setControl(control: ControlClient | null): void {
    this.root.dataset.control = control ? 'on' : 'off';
    if (control === this.control) return;
    this.control = control;
    this.renderAll();
  }

  /** Redraws one call (its control state changed). */
  refreshCall(server: string, callId: string): void {
    if (this.model.spreadMeetingOf(server, callId) !== undefined) this.renderMeetings();
    else this.renderCall(server, callId);
  }

  setFeedStatus(status: FeedStatus): void {
    this.topBar.setFeedStatus(status);
  }

  setApiReachable(reachable: boolean): void {
    this.topBar.setApiReachable(reachable);
  }

  setFilter(filter: Filter): void {
    this.filter = filter;
    this.topBar.showFilter(filter);
    this.renderAll();
  }

  select(selection: Selection | null): void {
    const previous = this.selection;
    this.selection = selection;
    for (const sel of [previous, selection]) {
      if (sel) this.renderCall(sel.server, sel.callId);
    }
    this.renderMeetings();
    this.renderHistory();
  }

  /** Called once the first server list arrived (or failed). */
  markServersKnown(): void {
    this.serversKnown = true;
    this.renderPlaceholder();
  }

  /** Redraws what changed in the model. */
  render(changes: Changes): void {
    if (changes.serverList) this.renderServerList();
    for (const name of changes.servers) this.renderServerHead(name);
    for (const [server, ids] of changes.calls) for (const id of ids) this.renderCall(server, id);
    if (changes.meetingHints || changes.serverList || this.touchesMeetings(changes.calls)) this.renderMeetings();
    for (const server of changes.calls.keys()) this.orderCalls(server);
    if (this.selection && changes.histories.has(historyKey(this.selection.server, this.selection.callId))) {
      this.renderHistory();
    }
    if (changes.serverList || changes.servers.size || changes.calls.size) this.topBar.renderTotals();
  }

  /** Whether a changed call is, or was at the last redraw, part of a spread meeting. */
  private touchesMeetings(calls: Changes['calls']): boolean {
    for (const [server, ids] of calls) {
      for (const id of ids) {
        if (this.inMeetings.has(callKey(server, id)) || this.model.spreadMeetingOf(server, id) !== undefined) return true;
      }
    }
    return false;
  }

  /**
   * Redraws the meeting cards; the calls that moved into or out of a meeting since the last
   * redraw are drawn in (or taken out of) their server cards.
   */
  private renderMeetings(): void {
    const meetings = this.model.spreadMeetings();
    this.meetings.render(meetings, this.filter, this.selection, this.control);
    const now = new Map<string, { server: string; callId: string }>();
    for (const meeting of meetings) {
      for (const entry of meeting.calls) now.set(callKey(entry.server, entry.call.id), { server: entry.server, callId: entry.call.id });
    }
    const moved = new Set<string>();
    for (const [key, ref] of [...this.inMeetings, ...now]) {
      if (this.inMeetings.has(key) && now.has(key)) continue;
      this.renderCall(ref.server, ref.callId);
      moved.add(ref.server);
    }
    this.inMeetings = now;
    for (const server of moved) this.orderCalls(server);
  }

  /** Relative times ("12 s ago") move on without any event. */
  tick(now = Date.now()): void {
    refreshRelativeTimes(this.list, now);
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
    this.renderMeetings();
    this.topBar.renderTotals();
    this.renderHistory();
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
    setChildren(this.list, shown);
    this.topBar.renderServerOptions(this.filter.server);
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
    const callCount = this.model.isLoaded(name) ? this.model.callCount(name) : server.calls;
    renderServerHead(elements, server, callCount);
  }

  private renderCall(server: string, callId: string): void {
    const elements = this.serverElements.get(server);
    if (!elements) return;
    // A part of a spread meeting is drawn in the meeting's card instead.
    const inMeeting = this.model.spreadMeetingOf(server, callId) !== undefined;
    const entry = inMeeting ? undefined : this.model.call(server, callId);
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
    drawCall(call, entry, roster, selected, this.control);
  }

  private orderCalls(server: string): void {
    const elements = this.serverElements.get(server);
    if (elements) orderCalls(elements, server, this.model);
  }

  private renderHistory(): void {
    this.history.render(this.model, this.selection);
  }
}
