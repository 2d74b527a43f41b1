// Which calls carry each callCorrelator, kept as calls come and go, so that "is this call part of
// a meeting spread over several bridges?" costs a lookup per event instead of a pass over every
// call of every server.
import { callKey } from './meetings.js';

export interface CallRef {
  server: string;
  callId: string;
}

export class CorrelatorIndex {
  /** The correlator of each call that has one, by callKey. */
  private readonly byCall = new Map<string, CallRef & { correlator: string }>();
  private readonly byCorrelator = new Map<string, Map<string, CallRef>>();

  /** Records a call's correlator now; null or undefined: the call has none, or is gone. */
  set(server: string, callId: string, correlator: string | null | undefined): void {
    const key = callKey(server, callId);
    const previous = this.byCall.get(key)?.correlator;
    if (previous === (correlator ?? undefined)) return;
    if (previous !== undefined) {
      const calls = this.byCorrelator.get(previous);
      calls?.delete(key);
      if (calls?.size === 0) this.byCorrelator.delete(previous);
      this.byCall.delete(key);
    }
    if (correlator === null || correlator === undefined) return;
    this.byCall.set(key, { server, callId, correlator });
    let calls = this.byCorrelator.get(correlator);
    if (!calls) this.byCorrelator.set(correlator, (calls = new Map()));
    calls.set(key, { server, callId });
  }

  /** Forgets every call of a server (it left the configuration). */
  dropServer(server: string): void {
    for (const ref of [...this.byCall.values()]) if (ref.server === server) this.set(server, ref.callId, null);
  }

  /** Whether calls with this correlator run on two or more bridges. */
  isSpread(correlator: string | null | undefined): boolean {
    const calls = correlator ? this.byCorrelator.get(correlator) : undefined;
    if (!calls || calls.size < 2) return false;
    let first: string | undefined;
    for (const { server } of calls.values()) {
      if (first === undefined) first = server;
      else if (server !== first) return true;
    }
    return false;
  }

  /** The spread meeting this call is part of, if any. */
  spreadMeetingOf(server: string, callId: string): string | undefined {
    const correlator = this.byCall.get(callKey(server, callId))?.correlator;
    return correlator !== undefined && this.isSpread(correlator) ? correlator : undefined;
  }

  /** The calls of every spread meeting. */
  spreadCalls(): CallRef[] {
    const refs: CallRef[] = [];
    for (const [correlator, calls] of this.byCorrelator) {
      if (this.isSpread(correlator)) refs.push(...calls.values());
    }
    return refs;
  }

  hasSpread(): boolean {
    for (const correlator of this.byCorrelator.keys()) if (this.isSpread(correlator)) return true;
    return false;
  }
}
