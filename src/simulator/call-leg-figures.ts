// The call-leg counts GET /system/status reports, kept in step with the world through its changes
// (as CallLegs is). A simulated participant owns one leg, so legs are counted as participants:
// active ones are those a call counts in `participants` (connected or on hold, hosted here; the
// world keeps that count), and a leg completes when its participant leaves or their call ends.
// A participant a cluster only lists here (hosted on another bridge) is never counted.
import type { CallRecord, WorldChange } from './world.js';

export class CallLegFigures {
  private readonly activeByCall = new Map<string, number>();
  private activeNow = 0;
  private maxActiveSeen = 0;
  private completedCount = 0;

  get active(): number {
    return this.activeNow;
  }

  /** The most legs active at once since the bridge started. */
  get maxActive(): number {
    return this.maxActiveSeen;
  }

  get completed(): number {
    return this.completedCount;
  }

  apply(changes: readonly WorldChange[]): void {
    const touched = new Set<CallRecord>();
    for (const change of changes) {
      switch (change.kind) {
        case 'callRemoved':
          touched.delete(change.call);
          this.setActive(change.call.id, 0);
          this.activeByCall.delete(change.call.id);
          for (const participant of change.call.roster.values()) if (participant.callBridge === undefined) this.completedCount += 1;
          break;
        case 'participantRemoved':
          if (change.participant.callBridge === undefined) this.completedCount += 1;
          touched.add(change.call);
          break;
        default:
          touched.add(change.call);
      }
    }
    // Counted once the whole list is applied, as a subscriber sees it: a batch's passing states
    // do not make a maximum.
    for (const call of touched) this.setActive(call.id, Number(call.fields.participants) || 0);
    this.maxActiveSeen = Math.max(this.maxActiveSeen, this.activeNow);
  }

  private setActive(callId: string, count: number): void {
    this.activeNow += count - (this.activeByCall.get(callId) ?? 0);
    this.activeByCall.set(callId, count);
  }
}
