// Each followed server's own health (README.md, "Server health"): every interval its REST API's
// /system/status and /system/alarms are read; the figures are shown in /api/servers and the
// metrics, and the alarms become server.alarm.raised / server.alarm.cleared events through the
// server's pipeline, once each (the announced alarms are kept in the server's model, so a
// restart raises nothing again and clears what went away meanwhile). A REST API that fails is
// logged once per streak and changes nothing else: the events feed is not touched, and the
// alarms last read stay as they are (a failed read is not "no alarms").
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import type { CmsClient } from '../control/cms-client.js';
import type { CmsEvent, ServerAlarm } from '../state/events.js';
import type { ServerState } from '../state/server-state.js';

/** What GET /api/servers shows as `cms` for a server. */
export interface CmsHealth {
  version: string | null;
  uptimeSeconds: number | null;
  callLegsActive: number | null;
  alarms: Array<Pick<ServerAlarm, 'type' | 'since'> & { failureReason?: string }>;
  /** When the REST API last answered (ISO), null before the first answer. */
  checkedAt: string | null;
  /** Why the last read failed (in words, no secret), null when it worked. */
  lastError: string | null;
}

const FIRST_CHECK_SPREAD_MS = 3_000;

export interface ServerHealthParts {
  client: () => CmsClient;
  state: ServerState;
  /** Hands events to the server's pipeline (the same path as every other event). */
  announce: (events: CmsEvent[]) => Promise<void>;
  intervalMs: number;
  clock: Clock;
  log: Logger;
}

export class ServerHealth {
  readonly #parts: ServerHealthParts;
  #timer: TimerHandle | undefined;
  #stopped = false;
  #status: Pick<CmsHealth, 'version' | 'uptimeSeconds' | 'callLegsActive'> = { version: null, uptimeSeconds: null, callLegsActive: null };
  #checkedAt: string | null = null;
  #lastError: string | null = null;

  constructor(parts: ServerHealthParts) {
    this.#parts = parts;
  }

  /**
   * The first read comes within a few seconds (spread at random, so that a fleet starting at
   * once does not ask every REST API in the same instant), then one per interval.
   */
  start(): void {
    this.#schedule(Math.floor(Math.random() * Math.min(this.#parts.intervalMs, FIRST_CHECK_SPREAD_MS)));
  }

  stop(): void {
    this.#stopped = true;
    this.#parts.clock.clearTimeout(this.#timer);
  }

  view(): CmsHealth {
    const alarms = this.#parts.state.alarms().map(({ type, since, failureReason }) => ({ type, since, ...(failureReason !== undefined && { failureReason }) }));
    return { ...this.#status, alarms, checkedAt: this.#checkedAt, lastError: this.#lastError };
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#parts.clock.setTimeout(() => {
      void this.#check().finally(() => this.#schedule(this.#parts.intervalMs));
    }, ms);
  }

  async #check(): Promise<void> {
    const { client, state, announce, clock, log } = this.#parts;
    try {
      const cms = client();
      const [status, alarms] = await Promise.all([cms.status(), cms.alarms()]);
      if (this.#stopped) return;
      this.#status = status;
      this.#checkedAt = new Date(clock.now()).toISOString();
      if (this.#lastError !== null) log.info('the REST API answers the health checks again');
      this.#lastError = null;
      const events = state.applyAlarms(alarms);
      if (events.length > 0) await announce(events);
    } catch (error) {
      const message = (error as Error).message;
      if (this.#lastError === null) log.warn({ error: message }, 'cannot read the server\'s health from its REST API (its events feed is not affected); retrying every interval');
      this.#lastError = message;
    }
  }
}
