// Redis Streams sink against a real redis-server: an outage in the middle of a stream
// (kill -9, restart on the same port), stream per server, approximate trimming, and a password
// that never shows in status or logs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createClient } from 'redis';
import { createSinks, type Sink, type SpooledSinkStatus } from '../src/sinks/index.js';
import type { CmsEvent } from '../src/state/events.js';
import { requirePrograms } from './helpers/requirements.js';
import { checkDelivered, freePort, makeEvents, recordLogs, sleep, startRedis, tempDir, waitFor } from './helpers/sinks.js';

const PASSWORD = 'redis-pass-7f3a9c';
const needs = requirePrograms('redis-server');

async function readStream(url: string, key: string): Promise<Array<{ id: string; server: string; type: string; event: string }>> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  try {
    const entries = await client.xRange(key, '-', '+');
    return entries.map((e) => e.message as { id: string; server: string; type: string; event: string });
  } finally {
    client.destroy();
  }
}

async function writePaced(sink: Sink, events: CmsEvent[], perTick: number, tickMs: number): Promise<void> {
  for (let i = 0; i < events.length; i += perTick) {
    for (const e of events.slice(i, i + perTick)) {
      const p = sink.write(e, JSON.stringify(e));
      if (p) await p;
    }
    await sleep(tickMs);
  }
}

test('redis killed -9 mid-stream and restarted: after de-duplication every event once, in order per server', { skip: needs.skip }, async () => {
  const { dir, remove } = await tempDir('redis-outage');
  const port = await freePort();
  // appendfsync always: what redis acknowledged survives kill -9, so losses would be ours.
  let redis = await startRedis(port, dir, true, ['--requirepass', PASSWORD]);
  const url = `redis://:${PASSWORD}@127.0.0.1:${port}`;
  const logs = recordLogs('debug');
  const registry = new Registry();
  let sink: Sink | undefined;
  try {
    [sink] = await createSinks(
      [{ type: 'redis', url, stream: 'cms-events', batch: 200, backoffInitialMs: 50, backoffMaxMs: 500, timeoutMs: 2000 }],
      { logger: logs.logger, registry, baseDir: dir },
    );
    const states: SpooledSinkStatus[] = [];
    const sampler = setInterval(() => states.push(sink!.status() as SpooledSinkStatus), 50);
    sampler.unref();
    const events = makeEvents(['cms-a', 'cms-b', 'cms-c'], 1200); // 3600 events
    const writing = writePaced(sink!, events, 60, 10);

    await waitFor(() => sink!.status().delivered >= 1200, 'a third delivered', 20_000);
    const failuresBefore = (sink!.status() as SpooledSinkStatus).failures;
    await redis.stop('SIGKILL');
    await waitFor(() => sink!.status().state !== 'ok', 'outage visible in status', 10_000);
    // redis stays down until the outage shows everything asserted below: a sampled status with
    // the error and a backlog, and more failed attempts than the warnings logged for them (the
    // failing state starts at the fifth), so that "not spammed" is a real check.
    await waitFor(
      () => {
        const now = sink!.status() as SpooledSinkStatus;
        const sampled = states.some((s) => s.state !== 'ok' && s.lastError && /redis/.test(s.lastError) && s.backlog > 0);
        return sampled && now.state === 'failing' && now.failures >= failuresBefore + 6;
      },
      'an outage sampled with its error and backlog, and six failed attempts',
      20_000,
    );
    redis = await startRedis(port, dir, true, ['--requirepass', PASSWORD]);
    await writing;
    await waitFor(() => sink!.status().backlog === 0, 'backlog drained', 30_000);
    clearInterval(sampler);

    const entries = await readStream(url, 'cms-events');
    const { duplicates, problems } = checkDelivered(events, entries.map((e) => e.id));
    assert.deepEqual(problems, []);
    const first = entries[0]!;
    assert.equal(first.server, events[0]!.server);
    assert.equal(first.type, 'call.updated');
    assert.deepEqual(JSON.parse(first.event), events[0]);

    const outage = states.filter((s) => s.state !== 'ok');
    assert.ok(outage.length > 0, 'status showed the outage');
    assert.ok(outage.some((s) => s.lastError && /redis/.test(s.lastError)), 'with an error');
    assert.ok(outage.some((s) => s.backlog > 0));
    const final = sink!.status() as SpooledSinkStatus;
    assert.equal(final.state, 'ok');
    assert.equal(final.delivered, events.length);
    assert.ok(final.failures > 0);
    assert.equal(final.target, `redis://:***@127.0.0.1:${port} stream cms-events`);
    const everything = logs.text() + JSON.stringify(states) + (await registry.metrics());
    assert.ok(!everything.includes(PASSWORD), 'the password never shows');
    assert.ok(logs.count('delivery failed') >= 1 && logs.count('delivery failed') <= 3, 'failures logged, not spammed');
    assert.equal(logs.count('delivery works again'), 1);
    console.log(`redis outage: ${events.length} events, ${duplicates} duplicates after the restart, ${final.failures} failed attempts`);
  } finally {
    await sink?.close();
    await redis.stop('SIGKILL');
    await remove();
  }
});

test('one stream per server, approximate MAXLEN trimming', { skip: needs.skip }, async () => {
  const { dir, remove } = await tempDir('redis-per-server');
  const port = await freePort();
  const redis = await startRedis(port, dir);
  const url = `redis://127.0.0.1:${port}`;
  let sink: Sink | undefined;
  try {
    [sink] = await createSinks(
      [{ type: 'redis', url, stream: 'ev', streamPerServer: true, maxLen: 1000, spoolDir: 'spool-r' }],
      { logger: recordLogs('silent').logger, registry: new Registry(), baseDir: dir },
    );
    const events = makeEvents(['cms-a', 'cms-b'], 3000);
    for (const e of events) {
      const p = sink!.write(e, JSON.stringify(e));
      if (p) await p;
    }
    await waitFor(() => sink!.status().backlog === 0, 'drained', 30_000);
    for (const server of ['cms-a', 'cms-b']) {
      const entries = await readStream(url, `ev:${server}`);
      assert.ok(entries.length >= 1000 && entries.length < 1500, `${server}: ${entries.length} entries kept`);
      assert.ok(entries.every((e) => e.server === server));
      const mine = events.filter((e) => e.server === server).map((e) => e.id);
      // The newest entries are kept, in order.
      assert.deepEqual(entries.map((e) => e.id), mine.slice(mine.length - entries.length));
    }
  } finally {
    await sink?.close();
    await redis.stop('SIGKILL');
    await remove();
  }
});
