// The NATS sink in cluster mode (src/sinks/nats-fence.ts) against a real nats-server: two
// instances write one stream; once a newer owner of a server has written, the older owner's
// late events are refused by the stream itself and dropped (counted), while retries of accepted
// events stay single (msgID). On Debian's 2.9 the per-subject chain after takeover markers is
// what runs; which form a server gets is chosen by its version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pino from 'pino';
import { NatsTransport } from '../src/sinks/nats.js';
import { supportsOwnerSubject } from '../src/sinks/nats-fence.js';
import type { SpoolRecord } from '../src/sinks/spool/index.js';
import { Secrets } from '../src/secrets.js';
import { requirePrograms } from './helpers/requirements.js';
import { freePort, startNats, tempDir } from './helpers/sinks.js';

const needs = requirePrograms('nats-server');
const STREAM = 'CMS_FENCE_TEST';

test('owner-subject fencing is used from nats-server 2.11 on, the per-subject chain before', () => {
  assert.equal(supportsOwnerSubject('2.9.10'), false);
  assert.equal(supportsOwnerSubject('2.10.22'), false);
  assert.equal(supportsOwnerSubject('2.11.0'), true);
  assert.equal(supportsOwnerSubject('2.12.3'), true);
  assert.equal(supportsOwnerSubject('3.0.0'), true);
  assert.equal(supportsOwnerSubject(undefined), false);
});

let seq = 0;
function record(server: string, epoch: number, label: string): SpoolRecord {
  const id = `${label}-${++seq}`;
  const event = { id, ts: new Date().toISOString(), type: 'call.updated', server, callId: 'c1', call: { id: 'c1' }, changes: {}, epoch };
  return { id, server, type: event.type, ts: event.ts, line: JSON.stringify(event), epoch, bytes: 0, seg: 0, end: 0, pos: 0 };
}

test('a deposed owner\'s late events are refused by the shared stream; the newer owner\'s are kept; retries stay single', { skip: needs.skip }, async () => {
  const { dir, remove } = await tempDir('nats-fence');
  const port = await freePort();
  const nats = await startNats(port, dir);
  const logger = pino({ level: 'silent' });
  const transport = () =>
    new NatsTransport({ servers: [`nats://127.0.0.1:${port}`], subject: 'cms.events', stream: STREAM, timeoutMs: 5_000, redactor: new Secrets([]), logger, fenced: true });
  const a = transport();
  const b = transport();
  const signal = new AbortController().signal;
  try {
    const early = [record('cms-a', 5, 'a'), record('cms-a', 5, 'a'), record('cms-a', 5, 'a')];
    assert.deepEqual(await a.deliver(early, signal), { kind: 'delivered' });
    // b takes cms-a over with a higher epoch.
    const taken = [record('cms-a', 9, 'b'), record('cms-a', 9, 'b')];
    assert.deepEqual(await b.deliver(taken, signal), { kind: 'delivered' });
    // a wakes up and tries to write what it had left: refused by the stream, dropped, counted.
    const late = [record('cms-a', 5, 'late'), record('cms-a', 5, 'late')];
    assert.deepEqual(await a.deliver(late, signal), { kind: 'delivered' }, 'handled: dropped, not retried for ever');
    assert.equal(a.fenced, 2);
    // A retry of b's accepted events is no duplicate; another server is unaffected.
    assert.deepEqual(await b.deliver(taken, signal), { kind: 'delivered' });
    const other = [record('cms-b', 3, 'other')];
    assert.deepEqual(await a.deliver(other, signal), { kind: 'delivered' });
    // a takes cms-a back later (a newer epoch): b is the deposed one now.
    const back = [record('cms-a', 12, 'back')];
    assert.deepEqual(await a.deliver(back, signal), { kind: 'delivered' });
    const stale = [record('cms-a', 9, 'stale')];
    assert.deepEqual(await b.deliver(stale, signal), { kind: 'delivered' });
    assert.equal(b.fenced, 1);

    const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
    try {
      const jsm = await jetstreamManager(nc);
      const total = (await jsm.streams.info(STREAM)).state.messages;
      const consumer = await jetstream(nc).consumers.get(STREAM);
      const ids: string[] = [];
      let seen = 0;
      while (seen < total) {
        for await (const m of await consumer.fetch({ max_messages: 1000, expires: 2000 })) {
          seen++;
          // Owner records and takeover markers carry no event.
          if (m.data.length > 0) ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
        }
      }
      assert.deepEqual(ids, [...early, ...taken, ...other, ...back].map((r) => r.id), 'every accepted event once, in order; none of the deposed owners\' late ones');
    } finally {
      await nc.close();
    }
  } finally {
    await a.close();
    await b.close();
    await nats.stop();
    await remove();
  }
});
