// Which bridge hosts a participant that several bridges list (the contract: the one the REST
// API's callBridge points to when known, otherwise the first bridge that listed it). The events
// feed does not say; each listing bridge's REST API does: it names a host (`<callBridge>`) only
// for participants hosted elsewhere, so the bridge that names none is the host.
//
// Lookups are few (only participants listed twice) and bounded (a handful at once over the
// fleet); while one is pending, or when the REST API cannot answer (no permission, unreachable),
// the first bridge that listed the participant stands, which is never worse than not asking.
// A move between bridges that both keep listing the person shows in no roster, only in the
// bridges' counts of their own participants: such a change has the meeting's shared people
// asked about again (recheck), their known host first, so an unchanged host costs one request.
import { CmsApiError } from '../control/errors.js';
import type { Logger } from 'pino';
import { realClock, type Clock, type TimerHandle } from '../clock.js';
import { CONTROL } from '../defaults.js';

/** Asks `server` whether it hosts the participant; throws when its REST API cannot answer. */
export type AskHost = (server: string, participantId: string) => Promise<boolean>;

export interface MeetingHostsParts {
  ask: AskHost;
  /** The REST API says `server` hosts the participant. */
  found: (participantId: string, server: string) => void;
  /** A meeting's participants listed by several bridges, with those bridges (the known host first). */
  shared: (meetingId: string) => ReadonlyArray<readonly [string, readonly string[]]>;
  log: Logger;
  clock?: Clock;
}

export class MeetingHosts {
  readonly #ask: AskHost;
  readonly #found: (participantId: string, server: string) => void;
  readonly #shared: MeetingHostsParts['shared'];
  readonly #log: Logger;
  readonly #clock: Clock;
  /** Meetings to recheck: the timer, and when the first change of this round came. */
  readonly #rechecks = new Map<string, { timer: TimerHandle; since: number }>();
  /** Participants to look up, with the bridges listing them (the latest wins). */
  readonly #wanted = new Map<string, readonly string[]>();
  readonly #running = new Set<string>();
  /** Servers whose REST API failed a lookup already: said once, not per participant. */
  readonly #failing = new Set<string>();
  #stopped = false;

  constructor(parts: MeetingHostsParts) {
    this.#ask = parts.ask;
    this.#found = parts.found;
    this.#shared = parts.shared;
    this.#log = parts.log;
    this.#clock = parts.clock ?? realClock;
  }

  /** The participant is listed by these servers: find which of them hosts it. */
  lookup(participantId: string, servers: readonly string[]): void {
    if (this.#stopped) return;
    this.#wanted.set(participantId, servers);
    this.#next();
  }

  /** The hosts of a meeting's shared participants may be stale: ask again once it is quiet. */
  recheck(meetingId: string): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    const pending = this.#rechecks.get(meetingId);
    if (pending !== undefined) {
      if (now - pending.since >= CONTROL.hostRecheckMaxWaitMs - CONTROL.hostRecheckQuietMs) return; // due soon anyway
      this.#clock.clearTimeout(pending.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#rechecks.delete(meetingId);
      for (const [participantId, servers] of this.#shared(meetingId)) this.lookup(participantId, servers);
    }, CONTROL.hostRecheckQuietMs);
    this.#rechecks.set(meetingId, { timer, since: pending?.since ?? now });
  }

  stop(): void {
    this.#stopped = true;
    this.#wanted.clear();
    for (const { timer } of this.#rechecks.values()) this.#clock.clearTimeout(timer);
    this.#rechecks.clear();
  }

  #next(): void {
    for (const [participantId, servers] of this.#wanted) {
      if (this.#running.size >= CONTROL.hostLookups) return;
      if (this.#running.has(participantId)) continue;
      this.#wanted.delete(participantId);
      this.#running.add(participantId);
      void this.#find(participantId, servers).finally(() => {
        this.#running.delete(participantId);
        if (!this.#stopped) this.#next();
      });
    }
  }

  async #find(participantId: string, servers: readonly string[]): Promise<void> {
    for (const server of servers) {
      if (this.#stopped || this.#wanted.has(participantId)) return; // stopped, or newer listings to ask about
      try {
        if (await this.#ask(server, participantId)) {
          if (!this.#stopped && !this.#wanted.has(participantId)) this.#found(participantId, server);
          if (this.#failing.delete(server)) this.#log.info({ server }, 'host lookups on this server\'s REST API work again');
          return;
        }
      } catch (error) {
        // Not there (any more) on this bridge: not a failing REST API; the next bridge may host them.
        if (error instanceof CmsApiError && error.code === 'participantDoesNotExist') continue;
        if (!this.#failing.has(server)) {
          this.#failing.add(server);
          this.#log.warn(
            { server, error: (error as Error).message },
            'cannot ask this server\'s REST API which bridge hosts a participant listed by several bridges; the first bridge that listed it is shown as its host',
          );
        }
      }
    }
  }
}
