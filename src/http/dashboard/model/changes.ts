// What the model changed since the view last redrew: collected as the model moves, handed over
// once per frame, so a burst of events costs one redraw of only what it touched.

/** What the view has to redraw since it last asked. */
export interface Changes {
  /** Servers added or removed: the list itself must be redrawn. */
  serverList: boolean;
  /** Servers whose header (state, error, rates) changed. */
  servers: Set<string>;
  /** Per server, calls that changed, appeared or ended. */
  calls: Map<string, Set<string>>;
  /** Calls (by historyKey) whose event history grew. */
  histories: Set<string>;
  /** The daemon's meeting hints changed: every spread meeting is redrawn. */
  meetingHints: boolean;
}

export class ChangeTracker {
  private pending: Changes = emptyChanges();

  markServerList(): void {
    this.pending.serverList = true;
  }

  markServer(server: string): void {
    this.pending.servers.add(server);
  }

  markCall(server: string, callId: string): void {
    this.markCallList(server).add(callId);
  }

  /** The server's call list is redrawn even when no single call changed (an empty snapshot). */
  markCallList(server: string): Set<string> {
    let ids = this.pending.calls.get(server);
    if (!ids) this.pending.calls.set(server, (ids = new Set()));
    return ids;
  }

  markMeetingHints(): void {
    this.pending.meetingHints = true;
  }

  markHistory(key: string): void {
    this.pending.histories.add(key);
  }

  take(): Changes {
    const taken = this.pending;
    this.pending = emptyChanges();
    return taken;
  }
}

function emptyChanges(): Changes {
  return { serverList: false, servers: new Set(), calls: new Map(), histories: new Set(), meetingHints: false };
}
