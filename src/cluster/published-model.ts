// A server's model as its owner publishes it to the models bucket, and how it is read back: the
// stored model of the single-process daemon (state/stored-model.ts) with who wrote it (epoch,
// owner) and where its journal tail starts. Reading never throws: a value that cannot be read
// is reported and the server is taken over as if nothing had been published.
import { decodeModel, encodeModel, type ModelExtras, type StoredCall } from '../state/index.js';

export interface PublishedModel {
  calls: StoredCall[];
  /** The server's alarms and CDR marks as announced (so that a new owner announces none of them again, and misses no clearing). */
  extras?: ModelExtras;
  /** The epoch of the owner that published it. */
  epoch: number;
  owner: string;
  /** The journal generation of that owner it includes. */
  generation: number;
  /** The first journal sequence that may hold anything it does not include. */
  fromSeq: number;
}

export function encodePublished(server: string, published: PublishedModel, savedAt: string): string {
  const { calls, extras, ...about } = published;
  return `{"published":${JSON.stringify(about)},"model":${encodeModel(server, calls, savedAt, -1, extras)}}`;
}

export type DecodedPublished = { ok: true; model: PublishedModel } | { ok: false; problem: string };

export function decodePublished(text: string, server: string): DecodedPublished {
  let parsed: { published?: Partial<Omit<PublishedModel, 'calls'>>; model?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (error) {
    return { ok: false, problem: `not JSON (${(error as Error).message})` };
  }
  const about = parsed?.published;
  const whole = (value: unknown): value is number => Number.isSafeInteger(value);
  if (typeof about !== 'object' || about === null || !whole(about.epoch) || !whole(about.generation) || !whole(about.fromSeq) || typeof about.owner !== 'string') {
    return { ok: false, problem: '"published" is not { epoch, owner, generation, fromSeq }' };
  }
  const decoded = decodeModel(JSON.stringify(parsed.model), server);
  if (!decoded.ok) return decoded;
  return { ok: true, model: { calls: decoded.calls, extras: decoded.extras, epoch: about.epoch, owner: about.owner, generation: about.generation, fromSeq: about.fromSeq } };
}
