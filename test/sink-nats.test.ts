// NATS JetStream sink against a real nats-server -js: the stream is created, subjects are
// <subject>.<server>.<type>, and with the server killed -9 mid-stream and restarted on its
// store, msgID de-duplication leaves every event exactly once, in order per server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { createSinks, type Sink, type SpooledSinkStatus } from '../src/sinks/index.js';
import type { CmsEvent } from '../src/state/events.js';
import { requirePrograms } from './helpers/requirements.js';
import { checkDelivered, freePort, makeEvents, recordLogs, sleep, startNats, tempDir, waitFor, type ServerProcess } from './helpers/sinks.js';

const TOKEN = 'nats-token-5d1e77b0';
const needs = requirePrograms('nats-server');

interface Stored {
  id: string;
  subject: string;
  event: CmsEvent;
}

async function readStream(port: number, stream: string): Promise<{ subjects: string[]; messages: Stored[] }> {
  const nc = await connect({ servers: `nats://127.0.0.1:${port}`, token: TOKEN });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const total = info.state.messages;
    const consumer = await jetstream(nc).consumers.get(stream);
    const messages: Stored[] = [];
    while (messages.length < total) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
      for await (const m of batch) {
        messages.push({ id: m.headers?.get('Nats-Msg-Id') ?? '', subject: m.subject, event: m.json<CmsEvent>() });
      }
    }
    return { subjects: info.config.subjects ?? [], messages };
  } finally {
    await nc.close();
  }
}

test('nats-server killed -9 mid-stream and restarted on its store: each event once (msgID), in order per server', { skip: needs.skip }, async () => {
  const { dir, remove } = await tempDir('nats-outage');
  const port = await freePort();
  const store = `${dir}/store`;
  let nats: ServerProcess = await startNats(port, store, ['--auth', TOKEN]);
  const logs = recordLogs('debug');
  const registry = new Registry();
  let sink: Sink | undefined;
  try {
    [sink] = await createSinks(
      [
        {
          type: 'nats',
          servers: `nats://${TOKEN}@127.0.0.1:${port}`,
          subject: 'cms.events',
          stream: 'CMS_EVENTS',
          batch: 200,
          backoffInitialMs: 50,
          backoffMaxMs: 500,
          timeoutMs: 1000,
        },
      ],
      { logger: logs.logger, registry, baseDir: dir },
    );
    const states: SpooledSinkStatus[] = [];
    const sampler = setInterval(() => states.push(sink!.status() as SpooledSinkStatus), 50);
    sampler.unref();
    const events = makeEvents(['cms-a', 'cms-b', 'cms.c'], 1200);
    const writing = (async () => {
      for (let i = 0; i < events.length; i += 60) {
        for (const e of events.slice(i, i + 60)) {
          const p = sink!.write(e, JSON.stringify(e));
          if (p) await p;
        }
        await sleep(10);
      }
    })();

    await waitFor(() => sink!.status().delivered >= 1200, 'a third delivered', 20_000);
    const failuresBefore = (sink!.status() as SpooledSinkStatus).failures;
    await nats.stop('SIGKILL');
    await waitFor(() => sink!.status().state !== 'ok', 'outage visible in status', 10_000);
    // nats-server stays down until the outage shows what is asserted below (a sampled status
    // naming NATS) and the sink has retried against the dead server with events waiting, so the
    // restart has a backlog to re-send, which msgID de-duplication must keep free of copies.
    await waitFor(
      () => {
        const now = sink!.status() as SpooledSinkStatus;
        const sampled = states.some((s) => s.state !== 'ok' && /NATS/.test(s.lastError ?? ''));
        return sampled && now.failures >= failuresBefore + 2 && now.backlog > 0;
      },
      'an outage sampled with its error, a failed retry and a backlog',
      20_000,
    );
    nats = await startNats(port, store, ['--auth', TOKEN]);
    await writing;
    await waitFor(() => sink!.status().backlog === 0, 'backlog drained', 40_000);
    clearInterval(sampler);

    const { subjects, messages } = await readStream(port, 'CMS_EVENTS');
    assert.deepEqual(subjects, ['cms.events.>']);
    const { duplicates, problems } = checkDelivered(events, messages.map((m) => m.event.id));
    assert.deepEqual(problems, []);
    assert.equal(duplicates, 0, 'msgID de-duplication kept the stream free of copies');
    assert.ok(messages.every((m) => m.id === m.event.id), 'Nats-Msg-Id is the event id');
    assert.equal(messages[0]!.subject, 'cms.events.cms-a.call.updated');
    assert.ok(messages.some((m) => m.subject === 'cms.events.cms_c.call.updated'), 'dots in server names become "_"');

    const outage = states.filter((s) => s.state !== 'ok');
    assert.ok(outage.length > 0 && outage.some((s) => /NATS/.test(s.lastError ?? '')), 'status showed the outage');
    const final = sink!.status() as SpooledSinkStatus;
    assert.equal(final.state, 'ok');
    assert.equal(final.delivered, events.length);
    assert.equal(final.target, `nats://***@127.0.0.1:${port} stream CMS_EVENTS subject cms.events.<server>.<type>`);
    const everything = logs.text() + JSON.stringify(states) + (await registry.metrics());
    assert.ok(!everything.includes(TOKEN), 'the token never shows');
    assert.equal(logs.count('created the JetStream stream'), 1);
    console.log(`nats outage: ${events.length} events, ${final.failures} failed attempts`);
  } finally {
    await sink?.close();
    await nats.stop('SIGKILL');
    await remove();
  }
});

test('nats-server down at start-up: events wait in the spool and go out once it is up', { skip: needs.skip }, async () => {
  const { dir, remove } = await tempDir('nats-late');
  const port = await freePort();
  let nats: ServerProcess | undefined;
  let sink: Sink | undefined;
  try {
    [sink] = await createSinks(
      [{ type: 'nats', servers: `nats://${TOKEN}@127.0.0.1:${port}`, stream: 'LATE', subject: 'late', backoffInitialMs: 50, backoffMaxMs: 300, timeoutMs: 1000 }],
      { logger: recordLogs('silent').logger, registry: new Registry(), baseDir: dir },
    );
    const events = makeEvents(['cms-a'], 50);
    for (const e of events) sink!.write(e, JSON.stringify(e));
    await waitFor(() => (sink!.status() as SpooledSinkStatus).failures > 0, 'failing while down', 20_000);
    assert.equal(sink!.status().backlog, 50);
    nats = await startNats(port, `${dir}/store`, ['--auth', TOKEN]);
    await waitFor(() => sink!.status().backlog === 0, 'drained', 20_000);
    const { messages } = await readStream(port, 'LATE');
    assert.deepEqual(messages.map((m) => m.event.id), events.map((e) => e.id));
  } finally {
    await sink?.close();
    await nats?.stop('SIGKILL');
    await remove();
  }
});
