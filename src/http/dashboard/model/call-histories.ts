// The latest events of each call, kept after the call ends so its history can still be opened.
// Bounded twice over (events per call, calls kept) because the page may stay open for days.
import type { CmsEvent } from '../api.js';

export const HISTORY_LENGTH = 50;
/** Calls whose history is kept, ended ones included; the oldest-touched go first. */
const HISTORY_CALLS = 1000;

export function historyKey(server: string, callId: string): string {
  return `${server}\u0000${callId}`;
}

export class CallHistories {
  private readonly byKey = new Map<string, CmsEvent[]>();

  /** Adds the event to its call's history and returns that history's key. */
  record(server: string, callId: string, event: CmsEvent): string {
    const key = historyKey(server, callId);
    const events = this.byKey.get(key) ?? [];
    // Re-inserting keeps the Map in least-recently-touched order for eviction.
    this.byKey.delete(key);
    this.byKey.set(key, events);
    events.push(event);
    if (events.length > HISTORY_LENGTH) events.splice(0, events.length - HISTORY_LENGTH);
    if (this.byKey.size > HISTORY_CALLS) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
    return key;
  }

  /** Latest events of a call, oldest first. */
  of(server: string, callId: string): readonly CmsEvent[] {
    return this.byKey.get(historyKey(server, callId)) ?? [];
  }
}
