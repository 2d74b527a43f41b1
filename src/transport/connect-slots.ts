// Caps how many connection attempts (token request + WebSocket handshake) run at once in the
// process. A thousand servers starting together on a busy machine would otherwise all be
// mid-handshake at once, time out together, and back off together (measured: 75 s to all live
// instead of 6 s under load); queued attempts finish in turn instead.
import { TRANSPORT } from '../defaults.js';

export class ConnectSlots {
  #active = 0;
  readonly #waiting: { grant: () => void; onAbort: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.limit) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal.removeEventListener('abort', entry.onAbort);
          resolve(this.#releaser());
        },
        onAbort: () => {
          const index = this.#waiting.indexOf(entry);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next.grant(); // the slot passes straight on
      else this.#active--;
    };
  }
}

/** Shared by every session of the process. */
export const connectSlots = new ConnectSlots(TRANSPORT.connectSlots);
