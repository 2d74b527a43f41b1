// The contract's call and participant events, built for one server. The events of one call into
// the model share one timestamp (`batch()` starts a new one); `call` and `participant` are never
// the live state objects, which go on changing while an event already handed out must not:
// `call` is the call's shared frozen view, `participant` a shallow copy (it changes with almost
// every participant event).
import type { CallFields, ParticipantFields } from '../protocol/index.js';
import type {
  CallEndedEvent,
  CallStartedEvent,
  CallState,
  CallUpdatedEvent,
  ParticipantJoinedEvent,
  ParticipantLeftEvent,
  ParticipantState,
  ParticipantUpdatedEvent,
} from './events.js';
import { isoTime } from './iso-time.js';

export class EventBuilder {
  readonly #server: string;
  readonly #now: () => number;
  readonly #newEventId: () => string;
  /** Timestamp shared by the events of one call into the model; computed on first use. */
  #batchTs: string | undefined;

  constructor(server: string, now: () => number, newEventId: () => string) {
    this.#server = server;
    this.#now = now;
    this.#newEventId = newEventId;
  }

  /** The events built from now on belong to a new call into the model (a new timestamp). */
  batch(): void {
    this.#batchTs = undefined;
  }

  callStarted(call: CallState): CallStartedEvent {
    return { id: this.#newEventId(), ts: this.#ts(), type: 'call.started', server: this.#server, callId: call.id, call };
  }

  callUpdated(call: CallState, changes: Partial<CallFields>, synthetic: boolean): CallUpdatedEvent {
    const event: CallUpdatedEvent = { id: this.#newEventId(), ts: this.#ts(), type: 'call.updated', server: this.#server, callId: call.id, changes, call };
    if (synthetic) event.synthetic = true;
    return event;
  }

  callEnded(call: CallState, reason: string | undefined, synthetic: boolean): CallEndedEvent {
    const event: CallEndedEvent = { id: this.#newEventId(), ts: this.#ts(), type: 'call.ended', server: this.#server, callId: call.id, call };
    if (reason !== undefined) event.reason = reason;
    if (synthetic) event.synthetic = true;
    return event;
  }

  participantJoined(call: CallState, participant: ParticipantState): ParticipantJoinedEvent {
    return {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'participant.joined',
      server: this.#server,
      callId: call.id,
      participantId: participant.id,
      call,
      participant: { ...participant },
    };
  }

  participantUpdated(call: CallState, participant: ParticipantState, changes: Partial<ParticipantFields>, synthetic: boolean): ParticipantUpdatedEvent {
    const event: ParticipantUpdatedEvent = {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'participant.updated',
      server: this.#server,
      callId: call.id,
      participantId: participant.id,
      changes,
      call,
      participant: { ...participant },
    };
    if (synthetic) event.synthetic = true;
    return event;
  }

  participantLeft(call: CallState, participant: ParticipantState, reason: string | undefined, synthetic: boolean): ParticipantLeftEvent {
    const event: ParticipantLeftEvent = {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'participant.left',
      server: this.#server,
      callId: call.id,
      participantId: participant.id,
      call,
      participant: { ...participant },
    };
    if (reason !== undefined) event.reason = reason;
    if (synthetic) event.synthetic = true;
    return event;
  }

  #ts(): string {
    return (this.#batchTs ??= isoTime(this.#now()));
  }
}
