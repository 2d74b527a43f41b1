// What a JetStream error means for us, by its API error code rather than its text.
import { JetStreamApiError } from '@nats-io/jetstream';

/** JSStreamWrongLastSequenceErr: a compare-and-set lost (someone else wrote the key or subject). */
const WRONG_LAST_SEQUENCE = 10071;

export function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE;
}
