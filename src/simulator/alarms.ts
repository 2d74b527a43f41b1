// The alarms a simulated bridge reports under GET /system/alarms. Tests raise and clear them
// through faults.raiseAlarm / faults.clearAlarm; as on a real CMS, one condition is one alarm:
// raising a type already active keeps its id and the time it was raised.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { AlarmInfo } from './types.js';

interface AlarmRecord {
  readonly id: string;
  readonly type: string;
  readonly failureReason?: string;
  /** clock.now() when it was raised. */
  readonly raisedAt: number;
}

export class Alarms {
  /** By type, in the order raised. */
  private readonly active = new Map<string, AlarmRecord>();

  constructor(private readonly clock: Clock) {}

  /** Returns the alarm's id (the existing one when the type is active already). */
  raise(type: string, failureReason?: string): string {
    if (typeof type !== 'string' || type === '') throw new TypeError('an alarm type must be a non-empty string');
    if (failureReason !== undefined && typeof failureReason !== 'string') throw new TypeError('an alarm failureReason must be a string');
    const existing = this.active.get(type);
    if (existing) return existing.id;
    const alarm: AlarmRecord = { id: randomUUID(), type, raisedAt: this.clock.now(), ...(failureReason === undefined ? {} : { failureReason }) };
    this.active.set(type, alarm);
    return alarm.id;
  }

  /** Clearing a type that is not active does nothing. */
  clear(type: string): void {
    this.active.delete(type);
  }

  /** The active alarms, oldest first, with their age on the clock now. */
  list(): AlarmInfo[] {
    const now = this.clock.now();
    return [...this.active.values()].map((a) => ({
      id: a.id,
      type: a.type,
      ...(a.failureReason === undefined ? {} : { failureReason: a.failureReason }),
      activeTimeSeconds: Math.max(0, Math.floor((now - a.raisedAt) / 1000)),
    }));
  }
}
