// The CDR receivers of one simulated bridge (what REST /system/cdrReceivers lists, at most four)
// and the records they share: one session GUID per start, one correlatorIndex sequence for the
// bridge (every receiver sees the same record with the same correlatorIndex), each receiver its
// own recordIndex sequence and delivery (cdr-pusher.ts). A receiver gets the records generated
// after it was added; deleting it drops its buffer. While any receiver cannot be connected to,
// the bridge lists the cdrConnectionFailure alarm. This is also the test hook SimulatedCdr.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Alarms } from './alarms.js';
import { burstRecords } from './cdr-burst.js';
import type { CdrSink } from './cdr-calls.js';
import { CdrPusher, receiverTarget, type CdrCounters, type PusherHost } from './cdr-pusher.js';
import { cdrTime } from './cdr-records.js';
import type { SimulatorSwitches } from './switches.js';
import type { CallBridgeInfo, CdrStats, SimulatedCdr } from './types.js';

/** A CMS accepts this many CDR receivers. */
export const MAX_CDR_RECEIVERS = 4;
export const CDR_ALARM = 'cdrConnectionFailure';
const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export type CdrReceiverErrorCode = 'tooManyCdrReceivers' | 'cdrReceiverDoesNotExist' | 'invalidUri';

/** A refused change of the receiver list; `code` is what REST names in failureDetails. */
export class CdrReceiverError extends Error {
  constructor(
    readonly code: CdrReceiverErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CdrReceiverError';
  }
}

export interface CdrReceiversHost {
  readonly switches: SimulatorSwitches;
  readonly clock: Clock;
  readonly alarms: Alarms;
  /** The bridge's name: how it finds itself among its cluster's callBridges. */
  readonly name: string;
  callBridges(): readonly CallBridgeInfo[];
}

interface DrainWaiter {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class CdrReceivers implements SimulatedCdr, CdrSink, PusherHost {
  readonly session = randomUUID();
  readonly counters: CdrCounters = { posts: 0, delivered: 0, failures: 0, discarded: 0, records: 0 };
  /** The envelope's callBridge when the bridge is not (recognisably) in a cluster. */
  private readonly ownBridgeId = randomUUID();
  private readonly pushers = new Map<string, CdrPusher>();
  private nextCorrelatorIndex = 0;
  private answersToLose = 0;
  private alarmRaised = false;
  private waiters: DrainWaiter[] = [];
  private closed = false;

  constructor(private readonly host: CdrReceiversHost) {}

  get switches(): SimulatorSwitches {
    return this.host.switches;
  }

  get clock(): Clock {
    return this.host.clock;
  }

  // The receiver list, as REST changes it.

  receivers(): Array<{ id: string; uri: string }> {
    return [...this.pushers.values()].map((p) => ({ id: p.id, uri: p.uri }));
  }

  receiver(id: string): { id: string; uri: string } {
    const pusher = this.pusher(id);
    return { id: pusher.id, uri: pusher.uri };
  }

  addReceiver(uri: string): string {
    checkUri(uri);
    if (this.pushers.size >= MAX_CDR_RECEIVERS) throw new CdrReceiverError('tooManyCdrReceivers', `a bridge takes at most ${MAX_CDR_RECEIVERS} CDR receivers`);
    const id = randomUUID();
    this.pushers.set(id, new CdrPusher(id, uri, this));
    return id;
  }

  updateReceiver(id: string, uri: string): void {
    checkUri(uri);
    this.pusher(id).retarget(uri);
  }

  removeReceiver(id: string): void {
    const pusher = this.pusher(id);
    this.pushers.delete(id);
    void pusher.close();
    this.syncAlarm();
    this.backlogChanged();
  }

  // SimulatedCdr

  backlog(receiverId?: string): number {
    if (receiverId !== undefined) return this.pusher(receiverId).backlog;
    let total = 0;
    for (const pusher of this.pushers.values()) total += pusher.backlog;
    return total;
  }

  drained(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    if (this.backlog() === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('the simulator is closed: its CDR backlog will not drain'));
    return new Promise((resolve, reject) => {
      // Real time, whatever the simulator's clock: a test on a manual clock still gets its answer.
      const waiter: DrainWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`CDR backlog not drained after ${timeoutMs} ms: ${this.describeBacklog()}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  loseAnswers(count: number): void {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('loseAnswers: count must be an integer >= 0');
    this.answersToLose = count;
  }

  burst(calls: number, participantsPerCall: number): void {
    burstRecords(this, this.host.clock, calls, participantsPerCall);
  }

  stats(): CdrStats {
    return { ...this.counters };
  }

  /** Stops every pusher (in-flight POSTs aborted, timers cleared, connections closed). */
  async close(): Promise<void> {
    this.closed = true;
    const pushers = [...this.pushers.values()];
    this.pushers.clear();
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('the simulator closed before its CDR backlog drained'));
    }
    await Promise.all(pushers.map((p) => p.close()));
  }

  // CdrSink: records from cdr-calls.ts

  get listening(): boolean {
    return this.pushers.size > 0 && !this.closed;
  }

  record(type: string, xml: string, tiedToNext = false): void {
    const record = { type, time: cdrTime(this.host.clock.now()), correlatorIndex: this.nextCorrelatorIndex, xml, tiedToNext };
    this.nextCorrelatorIndex += 1;
    for (const pusher of this.pushers.values()) pusher.push(record);
  }

  flush(): void {
    for (const pusher of this.pushers.values()) pusher.kick();
  }

  // PusherHost

  /** This bridge's id among its cluster's callBridges (found by name), else a GUID of its own. */
  callBridge(): string | undefined {
    if (!this.host.switches.cdrCallBridgeAttribute) return undefined;
    const mine = this.host.callBridges().filter((b) => b.name === this.host.name);
    return mine.length === 1 ? (mine[0] as CallBridgeInfo).id : this.ownBridgeId;
  }

  loseAnswer(): boolean {
    if (this.answersToLose === 0) return false;
    this.answersToLose -= 1;
    return true;
  }

  reachable(pusher: CdrPusher, ok: boolean): void {
    pusher.unreachable = !ok;
    this.syncAlarm();
  }

  backlogChanged(): void {
    if (this.waiters.length === 0 || this.backlog() > 0) return;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  }

  private pusher(id: string): CdrPusher {
    const pusher = this.pushers.get(id);
    if (!pusher) throw new CdrReceiverError('cdrReceiverDoesNotExist', `no CDR receiver ${id}`);
    return pusher;
  }

  /** Listed while any receiver is unreachable; cleared (if it was raised here) once none is. */
  private syncAlarm(): void {
    let unreachable = false;
    for (const pusher of this.pushers.values()) unreachable ||= pusher.unreachable;
    if (unreachable) {
      this.host.alarms.raise(CDR_ALARM);
      this.alarmRaised = true;
    } else if (this.alarmRaised) {
      this.host.alarms.clear(CDR_ALARM);
      this.alarmRaised = false;
    }
  }

  private describeBacklog(): string {
    const held = [...this.pushers.values()].filter((p) => p.backlog > 0);
    return held.map((p) => `receiver ${p.id} (${p.uri}) holds ${p.backlog} record(s)${p.lastProblem ? `, last POST: ${p.lastProblem}` : ''}`).join('; ') || 'no backlog left';
  }
}

function checkUri(uri: unknown): void {
  if (typeof uri !== 'string' || !receiverTarget(uri)) throw new CdrReceiverError('invalidUri', `a CDR receiver needs an http or https URI, not ${JSON.stringify(uri)}`);
}
