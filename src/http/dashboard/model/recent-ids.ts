// Event ids already seen, so the events a reconnecting stream replays are applied once.
// Only the latest few thousand are kept: a replay never reaches further back.

/** Event ids remembered to drop duplicates (a reconnecting stream may replay a few). */
const SEEN_IDS = 5000;

export class RecentIds {
  private readonly seen = new Set<string>();

  has(id: string): boolean {
    return this.seen.has(id);
  }

  add(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
