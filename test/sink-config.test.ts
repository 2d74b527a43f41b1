// The sinks config: defaults, readable errors, names, path resolution, secrets kept out of
// status, metrics registered per sink.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { createSinks, redactUrl, sinkConfigSchema, sinksConfigSchema, sinkNames, type SpooledSinkStatus } from '../src/sinks/index.js';
import { Secrets } from '../src/secrets.js';
import { recordLogs, tempDir } from './helpers/sinks.js';

const issues = (value: unknown) => {
  const r = sinkConfigSchema.safeParse(value);
  assert.equal(r.success, false, `expected ${JSON.stringify(value)} to be invalid`);
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

test('defaults', () => {
  assert.deepEqual(sinksConfigSchema.parse(undefined), [{ type: 'stdout' }]);
  assert.deepEqual(sinkConfigSchema.parse({ type: 'file', path: 'events.ndjson' }), {
    type: 'file',
    path: 'events.ndjson',
    maxBytes: 100 * 1024 * 1024,
    maxFiles: 5,
    spoolMaxBytes: 1024 ** 3,
    backoffInitialMs: 500,
    backoffMaxMs: 30_000,
  });
  assert.deepEqual(sinkConfigSchema.parse({ type: 'webhook', url: 'https://example.com/hook' }), {
    type: 'webhook',
    url: 'https://example.com/hook',
    batch: 100,
    timeoutMs: 10_000,
    spoolMaxBytes: 1024 ** 3,
    backoffInitialMs: 500,
    backoffMaxMs: 30_000,
  });
  assert.deepEqual(sinkConfigSchema.parse({ type: 'redis' }), {
    type: 'redis',
    url: 'redis://127.0.0.1:6379',
    stream: 'cms-events',
    maxLen: 1_000_000,
    streamPerServer: false,
    batch: 500,
    timeoutMs: 10_000,
    spoolMaxBytes: 1024 ** 3,
    backoffInitialMs: 500,
    backoffMaxMs: 30_000,
  });
  assert.deepEqual(sinkConfigSchema.parse({ type: 'nats' }), {
    type: 'nats',
    servers: ['nats://127.0.0.1:4222'],
    subject: 'cms.events',
    stream: 'CMS_EVENTS',
    batch: 500,
    timeoutMs: 10_000,
    spoolMaxBytes: 1024 ** 3,
    backoffInitialMs: 500,
    backoffMaxMs: 30_000,
  });
  const nats = sinkConfigSchema.parse({ type: 'nats', servers: 'nats://a:4222, nats://b:4222' });
  assert.deepEqual(nats.type === 'nats' && nats.servers, ['nats://a:4222', 'nats://b:4222']);
});

test('clear errors', () => {
  assert.deepEqual(issues({ type: 'kafka' }), ['type: type must be one of "stdout", "file", "webhook", "redis", "nats"']);
  assert.deepEqual(issues({ type: 'stdout', pretty: true }), [': Unrecognized key: "pretty"']);
  assert.deepEqual(issues({ type: 'file' }), ['path: is required (the file to write, e.g. "events.ndjson")']);
  assert.deepEqual(issues({ type: 'webhook', url: 'ftp://x' }), ['url: must be an http:// or https:// URL']);
  assert.deepEqual(issues({ type: 'webhook', url: 'http://x', secret: 'short' }), ['secret: must be at least 8 characters']);
  assert.deepEqual(issues({ type: 'redis', url: 'http://x' }), ['url: must be a redis:// or rediss:// URL']);
  assert.deepEqual(issues({ type: 'redis', batch: 0 }), ['batch: must be at least 1 (events)']);
  assert.deepEqual(issues({ type: 'nats', subject: 'cms.*' }), ['subject: must be dot-separated tokens without spaces or wildcards, e.g. "cms.events"']);
  assert.deepEqual(issues({ type: 'nats', servers: ['http://x'] }), ['servers.0: must be a nats://, tls://, ws:// or wss:// URL']);
  assert.deepEqual(issues({ type: 'redis', backoffInitialMs: 5000, backoffMaxMs: 100 }), ['backoffMaxMs: backoffMaxMs must not be smaller than backoffInitialMs']);
  assert.deepEqual(issues({ type: 'file', path: 'x', name: 'a/b' }), [
    'name: must be 1-64 characters of letters, digits, "_", "." or "-" (it names the spool folder and the metrics label)',
  ]);
  const many = sinksConfigSchema.safeParse([{ type: 'stdout' }, { type: 'stdout' }, { type: 'redis', name: 'x' }, { type: 'nats', name: 'x' }]);
  assert.equal(many.success, false);
  assert.match(z.prettifyError(many.error!), /at most one stdout sink/);
  assert.match(z.prettifyError(many.error!), /duplicates the name of sink 2 \("x"\)/);
});

test('names: the type, then type-2, type-3 … unless set', () => {
  assert.deepEqual(sinkNames([{ type: 'webhook' }, { type: 'redis' }, { type: 'webhook' }, { type: 'webhook', name: 'audit' }]), [
    'webhook',
    'redis',
    'webhook-2',
    'audit',
  ]);
});

test('URL credentials are redacted; secrets masked in any text', () => {
  assert.equal(redactUrl('redis://:hunter22@cache:6379'), 'redis://:***@cache:6379');
  assert.equal(redactUrl('rediss://user:p%40ss@cache:6380/2'), 'rediss://user:***@cache:6380/2');
  assert.equal(redactUrl('nats://s3cr3ttoken@n1:4222'), 'nats://***@n1:4222');
  assert.equal(redactUrl('nats://n1:4222'), 'nats://n1:4222');
  assert.equal(redactUrl('redis://cache:6379'), 'redis://cache:6379');
  const r = new Secrets(['p@ss', 'hunter22']);
  assert.equal(r.describe(new Error('AUTH hunter22 failed for p@ss')), 'AUTH *** failed for ***');
});

test('createSinks resolves paths against baseDir, registers metrics per sink, keeps secrets out of status', async () => {
  const { dir, remove } = await tempDir('sinks-create');
  const registry = new Registry();
  try {
    const sinks = await createSinks(
      [
        { type: 'file', path: 'out/events.ndjson' },
        { type: 'webhook', url: 'http://user:pw-secret-1@127.0.0.1:9/x?token=abc', secret: 'hmac-secret-123' },
        { type: 'redis', url: 'redis://:pw-secret-2@127.0.0.1:9', spoolDir: '/tmp/../' + dir.slice(1) + '/custom-spool' },
      ],
      { logger: recordLogs('silent').logger, registry, baseDir: dir, closeDrainMs: 0 },
    );
    assert.deepEqual(sinks.map((s) => s.name), ['file', 'webhook', 'redis']);
    await access(path.join(dir, 'spool', 'file'));
    await access(path.join(dir, 'spool', 'webhook'));
    await access(path.join(dir, 'custom-spool'));
    const statuses = sinks.map((s) => s.status() as SpooledSinkStatus);
    assert.equal(statuses[0]!.target, path.join(dir, 'out/events.ndjson'));
    assert.equal(statuses[1]!.target, 'http://127.0.0.1:9/x');
    assert.equal(statuses[2]!.target, 'redis://:***@127.0.0.1:9 stream cms-events');
    const text = JSON.stringify(statuses);
    for (const secret of ['pw-secret-1', 'pw-secret-2', 'hmac-secret-123']) assert.ok(!text.includes(secret));
    const metrics = await registry.metrics();
    for (const name of ['file', 'webhook', 'redis']) {
      for (const metric of [
        'cms_events_sink_delivered_total',
        'cms_events_sink_failures_total',
        'cms_events_sink_rejected_total',
        'cms_events_sink_backlog',
        'cms_events_sink_spool_bytes',
        'cms_events_sink_spool_full',
      ]) {
        assert.match(metrics, new RegExp(`${metric}\\{sink="${name}"\\} 0`), `${metric} for ${name}`);
      }
    }
    assert.match(metrics, /# TYPE cms_events_sink_delivery_latency_seconds histogram/);
    await Promise.all(sinks.map((s) => s.close()));
    assert.doesNotMatch(await registry.metrics(), /cms_events_sink_backlog\{sink="file"\}/, 'closed sinks leave the gauges');
  } finally {
    await remove();
  }
});

test('createSinks refuses bad configs and shared spool folders with a readable message', async () => {
  const { dir, remove } = await tempDir('sinks-bad');
  const deps = { logger: recordLogs('silent').logger, registry: new Registry(), baseDir: dir };
  try {
    await assert.rejects(createSinks([{ type: 'webhook' } as never], deps), /invalid sinks config:[\s\S]*url/);
    await assert.rejects(
      createSinks(
        [
          { type: 'file', path: 'a', spoolDir: 'same' },
          { type: 'file', path: 'b', spoolDir: 'same' },
        ],
        deps,
      ),
      /sinks "file" and "file-2" must not share the spool folder/,
    );
    // The first sink was closed again: its spool folder can be opened anew.
    const [again] = await createSinks([{ type: 'file', path: 'a', spoolDir: 'same' }], deps);
    await again!.close();
  } finally {
    await remove();
  }
});
