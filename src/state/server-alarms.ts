// The alarms of one server as announced (README.md, "Server health"): the CMS's
// /system/alarms read now against what was raised before, each alarm raised once and cleared
// once. Kept with the server's model, so a restart or a takeover raises nothing again and clears
// what went away meanwhile.
import type { CmsEvent, ServerAlarm } from './events.js';
import { isoTime } from './iso-time.js';

/** One alarm as the CMS's /system/alarms lists it. */
export interface ListedAlarm {
  id?: string;
  type: string;
  activeTimeSeconds?: number;
  failureReason?: string;
}

/** An alarm is the same alarm while the CMS keeps its id (or, without one, its type and reason). */
const alarmKey = (alarm: { id?: string; type: string; failureReason?: string }): string =>
  alarm.id !== undefined ? `id:${alarm.id}` : `type:${alarm.type}\u0000${alarm.failureReason ?? ''}`;

export class ServerAlarms {
  readonly #announced = new Map<string, ServerAlarm>();

  constructor(
    private readonly server: string,
    private readonly now: () => number,
    private readonly newEventId: () => string,
  ) {}

  /** The alarms announced and not cleared since. */
  list(): ServerAlarm[] {
    return [...this.#announced.values()].map((alarm) => ({ ...alarm }));
  }

  /** Takes over the alarms kept by an earlier run (announced then; not announced again). */
  restore(alarms: readonly ServerAlarm[]): void {
    for (const alarm of alarms) this.#announced.set(alarmKey(alarm), { ...alarm });
  }

  /** Takes in an alarm event announced before (a journal's, another owner's). */
  fold(event: CmsEvent): void {
    if (event.type === 'server.alarm.raised') this.#announced.set(alarmKey(event.alarm), { ...event.alarm });
    else if (event.type === 'server.alarm.cleared') this.#announced.delete(alarmKey(event.alarm));
  }

  /** An alarm not announced yet is raised, one announced and no longer listed is cleared. */
  apply(listed: readonly ListedAlarm[]): CmsEvent[] {
    const now = this.now();
    const ts = isoTime(now);
    const events: CmsEvent[] = [];
    const seen = new Set<string>();
    for (const item of listed) {
      const key = alarmKey(item);
      seen.add(key);
      if (this.#announced.has(key)) continue;
      const alarm: ServerAlarm = { type: item.type, since: isoTime(now - Math.max(0, item.activeTimeSeconds ?? 0) * 1000) };
      if (item.id !== undefined) alarm.id = item.id;
      if (item.failureReason !== undefined) alarm.failureReason = item.failureReason;
      this.#announced.set(key, alarm);
      events.push({ id: this.newEventId(), ts, type: 'server.alarm.raised', server: this.server, alarm: { ...alarm } });
    }
    for (const [key, alarm] of this.#announced) {
      if (seen.has(key)) continue;
      this.#announced.delete(key);
      events.push({ id: this.newEventId(), ts, type: 'server.alarm.cleared', server: this.server, alarm: { ...alarm } });
    }
    return events;
  }
}
