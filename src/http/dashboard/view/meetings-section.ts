// The meetings spread over several bridges, in a section of their own above the server cards:
// their calls are shown here instead of in their servers' cards. Empty (hidden) in a deployment
// without a cluster. Spread meetings are few, so the section redraws all of its cards at once.
import type { ControlClient } from '../control.js';
import { h } from '../dom.js';
import { visibleMembers, type Filter } from '../filter.js';
import type { SpreadMeeting } from '../model.js';
import { createMeetingElements, drawMeeting, type MeetingElements } from './meeting-card.js';
import type { Selection } from './history-panel.js';
import { setChildren } from './set-children.js';

export class MeetingsSection {
  readonly element: HTMLElement;
  private readonly list: HTMLElement;
  private readonly cards = new Map<string, MeetingElements>();
  /** The meeting each card's button opens: its first call, as of the last redraw. */
  private readonly firstCalls = new Map<string, Selection>();

  constructor(private readonly selectCall: (server: string, callId: string) => void) {
    this.list = h('div', { class: 'calls meetings__list' });
    this.element = h(
      'section',
      { class: 'meetings', testid: 'meetings', hidden: true, attrs: { 'aria-label': 'Meetings across bridges' } },
      h('h2', { class: 'meetings__title' }, 'Meetings across bridges'),
      this.list,
    );
  }

  /** Redraws every card the filter shows, in the given order; the others are removed. */
  render(meetings: readonly SpreadMeeting[], filter: Filter, selection: Selection | null, control: ControlClient | null): void {
    const shown: HTMLElement[] = [];
    const ids = new Set<string>();
    for (const meeting of meetings) {
      const members = visibleMembers(meeting, filter);
      if (!members) continue;
      ids.add(meeting.id);
      let card = this.cards.get(meeting.id);
      if (!card) {
        const id = meeting.id;
        card = createMeetingElements(() => this.openFirstCall(id));
        this.cards.set(id, card);
      }
      const first = meeting.calls[0];
      if (first) this.firstCalls.set(meeting.id, { server: first.server, callId: first.call.id });
      const selected = selection !== null && meeting.calls.some((entry) => entry.server === selection.server && entry.call.id === selection.callId);
      drawMeeting(card, meeting, members, selected, control);
      shown.push(card.root);
    }
    for (const id of [...this.cards.keys()]) {
      if (ids.has(id)) continue;
      this.cards.delete(id);
      this.firstCalls.delete(id);
    }
    setChildren(this.list, shown);
    this.element.hidden = shown.length === 0;
  }

  /** The history panel stays per call: a meeting opens its first call's. */
  private openFirstCall(meetingId: string): void {
    const first = this.firstCalls.get(meetingId);
    if (first) this.selectCall(first.server, first.callId);
  }
}
