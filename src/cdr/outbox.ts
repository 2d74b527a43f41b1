// Items for the other thread, gathered over one event-loop turn and posted as one message: a
// postMessage costs several microseconds and may wake the other thread, and with twenty CMSs
// posting at once a turn's group commit makes twenty bodies ready together (BENCHMARKS.md, "CDR
// receiver").
export class Outbox<T> {
  #items: T[] = [];
  #scheduled = false;
  readonly #post: (items: T[]) => void;

  constructor(post: (items: T[]) => void) {
    this.#post = post;
  }

  add(item: T): void {
    this.#items.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After the turn's I/O callbacks and the promise chains they started.
    setImmediate(() => this.flush());
  }

  /** Posts what waits now (also before the thread says it closed). */
  flush(): void {
    this.#scheduled = false;
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.#post(items);
  }
}
