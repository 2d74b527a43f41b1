// The bar across the top: the page's own connection to the daemon, the totals, and the filter
// inputs. The inputs only report what was typed or picked; the filter itself lives in the URL.
import { h, setText } from '../dom.js';
import type { FeedStatus } from '../feed.js';
import type { Filter } from '../filter.js';
import { countLabel } from '../format.js';
import type { DashboardModel } from '../model.js';

/** Typing is not filtered keystroke by keystroke: each filter rewrites the URL and redraws all. */
const SEARCH_DEBOUNCE_MS = 120;

export class TopBar {
  readonly element: HTMLElement;
  private readonly connection: HTMLElement;
  private readonly totals: HTMLElement;
  private readonly serverSelect: HTMLSelectElement;
  private readonly search: HTMLInputElement;
  private feedStatus: FeedStatus = 'connecting';
  private apiReachable = true;

  constructor(
    private readonly model: DashboardModel,
    onFilterInput: (filter: Filter) => void,
    initialQuery: string,
  ) {
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
    this.search.value = initialQuery;
    const reportInput = (): void =>
      onFilterInput({ server: this.serverSelect.value || null, query: this.search.value });
    this.serverSelect.addEventListener('change', reportInput);
    let typing: ReturnType<typeof setTimeout> | undefined;
    this.search.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(reportInput, SEARCH_DEBOUNCE_MS);
    });
    this.element = h(
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
    );
    this.renderConnection();
  }

  setFeedStatus(status: FeedStatus): void {
    this.feedStatus = status;
    this.renderConnection();
  }

  setApiReachable(reachable: boolean): void {
    this.apiReachable = reachable;
    this.renderConnection();
  }

  /** Brings the inputs in line with a filter set from outside (the URL), leaving them be if equal. */
  showFilter(filter: Filter): void {
    if (this.serverSelect.value !== (filter.server ?? '')) this.renderServerOptions(filter.server);
    if (this.search.value !== filter.query) this.search.value = filter.query;
  }

  /** Lists the known servers; a wanted one not (or no longer) known is kept so the URL still shows. */
  renderServerOptions(wanted: string | null): void {
    const names = this.model.serverNames();
    if (wanted !== null && !names.includes(wanted)) names.push(wanted);
    this.serverSelect.replaceChildren(
      h('option', { attrs: { value: '' } }, 'All servers'),
      ...names.map((name) => h('option', { attrs: { value: name } }, name)),
    );
    this.serverSelect.value = wanted ?? '';
  }

  renderTotals(): void {
    let live = 0;
    let calls = 0;
    for (const [name, server] of this.model.servers) {
      if (server.state === 'live') live += 1;
      calls += this.model.callCount(name);
    }
    // Every bridge's call counts (each is a call on its server); a person listed by two bridges once.
    const participants = this.model.participantTotal();
    setText(
      this.totals,
      `${live} of ${countLabel(this.model.servers.size, 'server', 'servers')} live · ` +
        `${countLabel(calls, 'call', 'calls')} · ${countLabel(participants, 'participant', 'participants')}`,
    );
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
}
