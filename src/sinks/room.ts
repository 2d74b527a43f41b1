// The promise a sink's `write` returns while the sink is full: the hub holds its acks to the
// CMS back until it resolves. One promise per full episode, shared by every writer held.
export class Room {
  #waiting: { promise: Promise<void>; resolve: () => void } | null = null;

  /** True while writers are held. */
  get held(): boolean {
    return this.#waiting !== null;
  }

  /** Resolves at the next `open`. */
  wait(): Promise<void> {
    if (!this.#waiting) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#waiting = { promise, resolve };
    }
    return this.#waiting.promise;
  }

  /** Lets every held writer go on. */
  open(): void {
    this.#waiting?.resolve();
    this.#waiting = null;
  }
}
