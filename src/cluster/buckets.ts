// The NATS objects the instances share, created by whichever instance comes first:
// - `cms_events_leases`: one key per server; its TTL is the lease length (src/cluster/lease.ts);
// - `cms_events_members`: one key per live instance, same TTL (src/cluster/membership.ts);
// - `cms_events_models`: each server's last published model (src/cluster/published-model.ts);
// - stream `CMS_EVENTS_JOURNAL`: each server's events as its owner hands them out, between two
//   published models (src/cluster/journal.ts), kept an hour.
import type { KV } from '@nats-io/kv';
import { Kvm } from '@nats-io/kv';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export const LEASES_BUCKET = 'cms_events_leases';
export const MEMBERS_BUCKET = 'cms_events_members';
export const MODELS_BUCKET = 'cms_events_models';
export const JOURNAL_STREAM = 'CMS_EVENTS_JOURNAL';
const JOURNAL_SUBJECT_PREFIX = 'cms_events.journal';
const JOURNAL_MAX_AGE_NS = 3_600 * 1e9;
const STREAM_NAME_IN_USE = 10058;

/** The journal subject of a server, by its key (src/cluster/keys.ts). */
export const journalSubject = (key: string): string => `${JOURNAL_SUBJECT_PREFIX}.${key}`;

export interface SharedObjects {
  js: JetStreamClient;
  jsm: JetStreamManager;
  leases: KV;
  members: KV;
  models: KV;
  /** The lease length in force: the leases bucket's TTL, which the first instance set. */
  leaseMs: number;
}

export async function openSharedObjects(nc: NatsConnection, leaseMs: number, log: Logger): Promise<SharedObjects> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const kvm = new Kvm(js);
  // An existing bucket keeps its TTL whatever is asked: the keys expire by it, so it is the lease.
  const leases = await kvm.create(LEASES_BUCKET, { ttl: leaseMs, history: 1 });
  const actualMs = (await leases.status()).ttl;
  if (actualMs !== leaseMs) {
    log.warn(
      { configured: leaseMs, inForce: actualMs },
      `the leases bucket was created with a lease of ${actualMs} ms; that length is used (give every instance the same leaseSeconds, or delete the bucket ${LEASES_BUCKET} with every instance stopped)`,
    );
  }
  const members = await kvm.create(MEMBERS_BUCKET, { ttl: actualMs, history: 1 });
  const models = await kvm.create(MODELS_BUCKET, { history: 1 });
  try {
    await jsm.streams.add({ name: JOURNAL_STREAM, subjects: [`${JOURNAL_SUBJECT_PREFIX}.*`], max_age: JOURNAL_MAX_AGE_NS });
  } catch (error) {
    if ((error as { code?: number }).code !== STREAM_NAME_IN_USE) throw error;
  }
  return { js, jsm, leases, members, models, leaseMs: actualMs };
}
