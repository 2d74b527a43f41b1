// Wires the dashboard together: snapshot + event stream into the model, the model into the view.
import './style.css';
import { EVENTS_PATH, fetchCalls, fetchMeetings, fetchServers } from './api.js';
import { coalescedRefresh } from './coalesced-refresh.js';
import { ControlClient, fetchControlEnabled } from './control.js';
import { openFeed } from './feed.js';
import { NO_FILTER, type Filter } from './filter.js';
import { DashboardModel } from './model.js';
import { DashboardView, type Selection } from './view.js';

/** GET /api/servers is polled for states, errors and rates, which have no events of their own. */
const SERVERS_POLL_MS = 2000;
/** Meeting and roster events come in bursts: one GET /api/meetings serves each burst. */
const MEETING_HINTS_DELAY_MS = 300;

const model = new DashboardModel();
let selection: Selection | null = null;
const view = new DashboardView(
  document.getElementById('app') ?? document.body,
  model,
  {
    selectCall(server, callId) {
      const same = selection?.server === server && selection.callId === callId;
      selection = same ? null : { server, callId };
      view.select(selection);
    },
    closeHistory() {
      selection = null;
      view.select(null);
    },
    setFilter(filter) {
      writeFilterToUrl(filter);
      view.setFilter(filter);
    },
  },
  readFilterFromUrl(),
);

const control = new ControlClient((server, callId) => view.refreshCall(server, callId));

/** Whether the daemon has call control; asked again whenever the stream (re)opens (a restarted daemon may differ). */
async function refreshControl(): Promise<void> {
  view.setControl((await fetchControlEnabled()) ? control : null);
}

let frame = 0;
/** Many events in one burst cost one redraw. */
function scheduleRender(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    view.render(model.takeChanges());
  });
}

let serversInFlight: Promise<boolean> | null = null;
/** Fetches the server list once (concurrent callers share it); true when it succeeded. */
function refreshServers(): Promise<boolean> {
  serversInFlight ??= fetchServers()
    .then((servers) => {
      model.setServers(servers);
      view.setApiReachable(true);
      view.markServersKnown();
      return true;
    })
    .catch(() => {
      view.setApiReachable(false);
      return false;
    })
    .finally(() => {
      serversInFlight = null;
      scheduleRender();
    });
  return serversInFlight;
}

/**
 * Which bridge hosts a participant that several bridges list is the daemon's to say (it may ask
 * the CMS REST API); a failed fetch keeps the hints it had, and the calls still group without them.
 */
const refreshMeetingHints = coalescedRefresh(async () => {
  try {
    model.setMeetingHints(await fetchMeetings());
  } catch {
    return;
  }
  scheduleRender();
}, MEETING_HINTS_DELAY_MS);

async function loadCalls(server: string): Promise<void> {
  const token = model.beginCalls(server);
  try {
    model.setCalls(server, await fetchCalls(server), token);
  } catch {
    model.failCalls(server, token);
  }
  scheduleRender();
}

function loadMissingCalls(): void {
  for (const server of model.serversNeedingCalls()) void loadCalls(server);
}

/** After the stream (re)opens: events wait while the snapshot loads, then replay on top of it. */
async function reloadSnapshot(): Promise<void> {
  model.beginReload();
  // A poll already in flight may predate the stream: wait it out, then ask afresh.
  if (serversInFlight) await serversInFlight;
  const ok = await refreshServers();
  // Every server, even one with a load in flight: that load may predate the stream.
  const servers = ok ? model.serverNames() : [];
  const tokens = servers.map((server) => [server, model.beginCalls(server)] as const);
  model.endReload();
  scheduleRender();
  await Promise.all(
    tokens.map(async ([server, token]) => {
      try {
        model.setCalls(server, await fetchCalls(server), token);
      } catch {
        model.failCalls(server, token);
      }
      scheduleRender();
    }),
  );
}

openFeed(EVENTS_PATH, {
  onOpen() {
    void refreshControl();
    void reloadSnapshot();
    refreshMeetingHints();
  },
  onEvent(event) {
    const outcome = model.receive(event);
    if (outcome.refetchCalls) void loadCalls(event.server);
    if (outcome.refetchServers) void refreshServers().then(loadMissingCalls);
    if (outcome.refetchMeetingHints) refreshMeetingHints();
    scheduleRender();
  },
  onStatus(status) {
    view.setFeedStatus(status);
  },
});

setInterval(() => {
  if (document.hidden) return;
  void refreshServers().then(loadMissingCalls);
  // The daemon learns a host from the REST API after the events that made it ask: no event says so.
  if (model.hasSpreadMeetings()) refreshMeetingHints();
}, SERVERS_POLL_MS);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void refreshServers().then(loadMissingCalls);
});
setInterval(() => view.tick(), 1000);
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && selection) {
    selection = null;
    view.select(null);
  }
});

function readFilterFromUrl(): Filter {
  const params = new URLSearchParams(location.search);
  return { ...NO_FILTER, server: params.get('server') || null, query: params.get('q') ?? '' };
}

function writeFilterToUrl(filter: Filter): void {
  const params = new URLSearchParams();
  if (filter.server) params.set('server', filter.server);
  if (filter.query) params.set('q', filter.query);
  const search = params.toString();
  history.replaceState(null, '', search ? `?${search}` : location.pathname);
}
