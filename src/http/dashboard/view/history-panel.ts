// The side panel with the latest events of the selected call, newest first. It stays open after
// the call ends: the history outlives the call, so what happened last can still be read.
import type { CmsEvent } from '../api.js';
import { h, setText } from '../dom.js';
import { clockTime, countLabel, dateTime, eventDetail, eventInWords } from '../format.js';
import type { DashboardModel } from '../model.js';

/** The call whose history is open. */
export interface Selection {
  server: string;
  callId: string;
}

export class HistoryPanel {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly sub: HTMLElement;
  private readonly list: HTMLElement;

  constructor(onClose: () => void) {
    this.title = h('h2', { testid: 'history-title' });
    this.sub = h('p', { class: 'history__sub' });
    this.list = h('ol', { class: 'history__list', testid: 'history-list' });
    this.element = h(
      'aside',
      { class: 'history', testid: 'call-history', hidden: true, attrs: { 'aria-label': 'Call history' } },
      h(
        'header',
        { class: 'history__head' },
        h('div', null, this.title, this.sub),
        h(
          'button',
          {
            class: 'history__close',
            testid: 'history-close',
            attrs: { type: 'button', 'aria-label': 'Close history' },
            onClick: onClose,
          },
          '×',
        ),
      ),
      this.list,
    );
  }

  /** Shows the selected call's history, or hides the panel when nothing is selected. */
  render(model: DashboardModel, selection: Selection | null): void {
    this.element.hidden = selection === null;
    document.body.classList.toggle('history-open', selection !== null);
    if (!selection) return;
    const events = model.history(selection.server, selection.callId);
    const entry = model.call(selection.server, selection.callId);
    const last = events[events.length - 1];
    const lastCall = last && 'call' in last ? last.call : undefined;
    const name = entry?.call.name || lastCall?.name || selection.callId;
    setText(this.title, name);
    const facts = [selection.server, countLabel(events.length, 'event', 'events') + ' seen since this page opened'];
    if (!entry) facts.push('call ended');
    setText(this.sub, facts.join(' · '));
    this.element.dataset.server = selection.server;
    this.element.dataset.callId = selection.callId;
    this.list.replaceChildren(...[...events].reverse().map(historyItem));
    if (events.length === 0) {
      this.list.append(h('li', { class: 'empty' }, 'No events yet: they appear here as they happen.'));
    }
  }
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
