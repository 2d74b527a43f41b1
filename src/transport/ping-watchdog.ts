// Dead-peer detection by WebSocket ping, safe against servers that never answer pings.
//
// Whether CMS answers pings is unknown (docs/protocol.md §2), so missing pongs may only count against a
// connection whose server has answered at least one: until the first pong the watchdog only
// sends pings. TCP keepalive (set on every socket by openSocket) covers the silent-server case.
import { realClock, type Clock, type TimerHandle } from '../clock.js';
import { TRANSPORT } from '../defaults.js';

export interface PingWatchdogOptions {
  intervalMs: number;
  /** Unanswered pings tolerated before the peer counts as dead (once enforced). @defaultValue TRANSPORT.pingMaxMissed (2) */
  maxMissed?: number;
  sendPing: () => void;
  /** Called once, when an enforced connection missed too many pongs; the watchdog has stopped. */
  onDead: (unansweredPings: number) => void;
  clock?: Clock;
}

export class PingWatchdog {
  readonly #intervalMs: number;
  readonly #maxMissed: number;
  readonly #sendPing: () => void;
  readonly #onDead: (unansweredPings: number) => void;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #unanswered = 0;
  #enforced = false;

  constructor(options: PingWatchdogOptions) {
    this.#intervalMs = options.intervalMs;
    this.#maxMissed = options.maxMissed ?? TRANSPORT.pingMaxMissed;
    this.#sendPing = options.sendPing;
    this.#onDead = options.onDead;
    this.#clock = options.clock ?? realClock;
  }

  /** True once the server has answered a ping: from then on, silence is fatal. */
  get enforced(): boolean {
    return this.#enforced;
  }

  start(): void {
    this.stop();
    this.#schedule();
  }

  stop(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unanswered = 0;
  }

  /** Call on every pong. */
  pong(): void {
    this.#enforced = true;
    this.#unanswered = 0;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#intervalMs);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#enforced && this.#unanswered >= this.#maxMissed) {
      const unanswered = this.#unanswered;
      this.stop();
      this.#onDead(unanswered);
      return;
    }
    this.#unanswered++;
    this.#schedule();
    this.#sendPing();
  }
}
