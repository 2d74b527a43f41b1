// SimulatedCdr.burst: the records of many short synthetic calls at once, for throughput
// benchmarks. The calls never enter the world (no events, no REST): they are fed, as world changes
// would be, through a CdrCalls of their own, so their records follow the same CMS sequence as
// real ones (each leg starts, passes the IVR and joins, the call ends under them), and all of them
// are handed to the receivers' buffers before the first POST leaves.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { CdrCalls, type CdrSink } from './cdr-calls.js';
import type { CallRecord, ParticipantRecord, WorldChange } from './world.js';

/**
 * `calls` short synthetic calls of `participantsPerCall` people each, through the same sequence
 * as the world's calls (every leg starts and connects, the call ends under them), without a world.
 */
export function burstRecords(sink: CdrSink, clock: Clock, calls: number, participantsPerCall: number): void {
  if (!Number.isSafeInteger(calls) || calls < 0) throw new RangeError('burst: calls must be an integer >= 0');
  if (!Number.isSafeInteger(participantsPerCall) || participantsPerCall < 0) throw new RangeError('burst: participantsPerCall must be an integer >= 0');
  // The records leave together once all are made, as a backlog would.
  const follower = new CdrCalls({ get listening() { return sink.listening; }, record: (...args) => sink.record(...args), flush: () => undefined }, clock, () => undefined);
  for (let c = 1; c <= calls; c += 1) {
    const call: CallRecord = {
      id: randomUUID(),
      fields: { name: `Burst ${c}`, callType: 'coSpace', callCorrelator: randomUUID(), recording: 'inactive', streaming: 'inactive' },
      roster: new Map(),
    };
    const changes: WorldChange[] = [{ kind: 'callAdded', call }];
    for (let p = 1; p <= participantsPerCall; p += 1) {
      const participant: ParticipantRecord = {
        id: randomUUID(),
        fields: { name: `Burst ${c}.${p}`, uri: `burst${c}.${p}@example.com`, state: 'connected', direction: 'incoming', canMove: true },
      };
      call.roster.set(participant.id, participant);
      changes.push({ kind: 'participantAdded', call, participant });
    }
    changes.push({ kind: 'callRemoved', call, reason: 'allLeft' });
    follower.apply(changes);
  }
  sink.flush();
}
