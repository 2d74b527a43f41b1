// Webhook sink against a real node:http receiver: signatures, batching, retries on 5xx and
// network errors, 429/408 with Retry-After, 4xx refused and reported, a full spool holding the
// writer back, and a daemon killed with a non-empty spool (kill -9 of a child process).
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import type { Clock } from '../src/clock.js';
import { createSinks, type Sink, type SpooledSinkStatus } from '../src/sinks/index.js';
import type { CmsEvent } from '../src/state/events.js';
import { ManualClock } from './helpers/manual-clock.js';
import { checkDelivered, freePort, makeEvents, recordLogs, tempDir, waitFor } from './helpers/sinks.js';

const SECRET = 'webhook-test-secret-0123456789';

interface Received {
  at: number;
  status: number;
  events: CmsEvent[];
  body: string;
  signature: string | undefined;
  authorization: string | undefined;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string };

class Receiver {
  readonly requests: Received[] = [];
  reply: (index: number) => Reply = () => ({ status: 200 });
  /** Bodies with more events, or more bytes, than these get 413 (as a proxy's body limit would). */
  limitEvents = Infinity;
  limitBytes = Infinity;
  private server: Server | null = null;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const events = JSON.parse(body) as CmsEvent[];
        const tooLarge = events.length > this.limitEvents || Buffer.byteLength(body) > this.limitBytes;
        const r = tooLarge ? { status: 413, body: 'Payload Too Large' } : this.reply(this.requests.length);
        this.requests.push({
          at: Date.now(),
          status: r.status,
          events,
          body,
          signature: req.headers['x-cms-events-signature'] as string | undefined,
          authorization: req.headers.authorization,
        });
        res.writeHead(r.status, { 'content-type': 'text/plain', ...r.headers });
        res.end(r.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Event ids of the requests answered 2xx, in arrival order. */
  acceptedIds(): string[] {
    return this.requests.filter((r) => r.status < 300).flatMap((r) => r.events.map((e) => e.id));
  }
}

function verify(body: string, signature: string | undefined): boolean {
  if (!signature?.startsWith('sha256=')) return false;
  const expected = Buffer.from(createHmac('sha256', SECRET).update(body).digest('hex'));
  const got = Buffer.from(signature.slice('sha256='.length));
  return expected.length === got.length && timingSafeEqual(expected, got);
}

async function webhookSink(
  dir: string,
  port: number,
  extra: Record<string, unknown> = {},
  logger = recordLogs('silent').logger,
  registry = new Registry(),
  clock?: Clock,
): Promise<Sink> {
  const [sink] = await createSinks(
    [
      {
        type: 'webhook',
        url: `http://hook-user:hook-pass-42@127.0.0.1:${port}/hook?token=abc`,
        secret: SECRET,
        batch: 50,
        backoffInitialMs: 20,
        backoffMaxMs: 200,
        timeoutMs: 2000,
        ...extra,
      } as never,
    ],
    { logger, registry, baseDir: dir, closeDrainMs: 2000, ...(clock ? { clock } : {}) },
  );
  return sink!;
}

/** A spool folder and a receiver on a free port (not started yet), both cleaned up after `body`. */
async function withReceiver(name: string, body: (receiver: Receiver, dir: string) => Promise<void>): Promise<void> {
  const { dir, remove } = await tempDir(name);
  const receiver = new Receiver(await freePort());
  try {
    await body(receiver, dir);
  } finally {
    await receiver.stop();
    await remove();
  }
}

async function writeAll(sink: Sink, events: CmsEvent[]): Promise<number> {
  let held = 0;
  for (const e of events) {
    const p = sink.write(e, JSON.stringify(e));
    if (p) {
      held += 1;
      await p;
    }
  }
  return held;
}

// ---- child mode: a daemon that spools events and is then killed -9 ---------------------------

if (process.env.CMS_SINK_CHILD === 'webhook') {
  const [dir, port, count] = process.argv.slice(2);
  const sink = await webhookSink(dir!, Number(port));
  const events = makeEvents(['a', 'b', 'c'], Number(count) / 3);
  await writeAll(sink, events);
  // Every record's write(2) has completed (the page cache keeps it past kill -9).
  const spoolDir = path.join(dir!, 'spool', 'webhook');
  const linesOnDisk = async () => {
    const segments = (await readdir(spoolDir)).filter((f) => f.startsWith('seg-'));
    const texts = await Promise.all(segments.map((f) => readFile(path.join(spoolDir, f), 'utf8')));
    return texts.join('').split('\n').length - 1;
  };
  await waitFor(async () => (await linesOnDisk()) === events.length, 'spool written', 20_000);
  process.send!({ ids: events.map((e) => e.id), servers: events.map((e) => e.server) });
  await new Promise(() => {}); // wait for SIGKILL
} else {
  test('batches are signed over the exact body and arrive in order', () =>
    withReceiver('webhook-sign', async (receiver, dir) => {
      await receiver.start();
      const logs = recordLogs('debug');
      const sink = await webhookSink(dir, receiver.port, {}, logs.logger);
      const events = makeEvents(['cms-a', 'cms-b'], 150);
      await writeAll(sink, events);
      await waitFor(() => receiver.acceptedIds().length >= events.length, 'all delivered', 20_000);
      assert.deepEqual(receiver.acceptedIds(), events.map((e) => e.id));
      for (const r of receiver.requests) {
        assert.ok(verify(r.body, r.signature), 'signature verifies');
        assert.equal(r.authorization, `Basic ${Buffer.from('hook-user:hook-pass-42').toString('base64')}`);
        assert.ok(r.events.length <= 50);
      }
      assert.deepEqual(receiver.requests[0]!.events[0], events[0]);
      // The receiver records a batch before its answer reaches the sink: wait for the sink too.
      await waitFor(() => sink.status().delivered === events.length, 'sink saw every answer', 20_000);
      const status = sink.status() as SpooledSinkStatus;
      assert.equal(status.state, 'ok');
      assert.equal(status.delivered, events.length);
      assert.equal(status.backlog, 0);
      assert.equal(status.target, `http://127.0.0.1:${receiver.port}/hook`);
      await sink.close();
      assert.equal(sink.status().state, 'closed');
      for (const secret of [SECRET, 'hook-pass-42']) {
        assert.ok(!logs.text().includes(secret));
        assert.ok(!JSON.stringify(status).includes(secret));
      }
    }));

  test('5xx and a dead receiver are retried with backoff; everything arrives once recovered, in order', () =>
    withReceiver('webhook-5xx', async (receiver, dir) => {
      const registry = new Registry();
      // Nothing listens at first (connection refused), then 500s, then success.
      const sink = await webhookSink(dir, receiver.port, {}, undefined, registry);
      const events = makeEvents(['cms-a', 'cms-b', 'cms-c'], 100);
      await writeAll(sink, events.slice(0, 150));
      await waitFor(() => (sink.status() as SpooledSinkStatus).failures > 0, 'a failed attempt', 20_000);
      assert.notEqual(sink.status().state, 'ok');
      assert.match(sink.status().lastError ?? '', /ECONNREFUSED|connect/);
      // Once it listens: three 500s, then success.
      receiver.reply = (i) => (i < 3 ? { status: 500, body: 'oops' } : { status: 200 });
      await receiver.start();
      await writeAll(sink, events.slice(150));
      await waitFor(() => sink.status().backlog === 0 && receiver.acceptedIds().length >= events.length, 'all delivered', 20_000);
      const { duplicates, problems } = checkDelivered(events, receiver.acceptedIds());
      assert.deepEqual(problems, []);
      assert.equal(duplicates, 0);
      assert.ok(receiver.requests.some((r) => r.status === 500));
      const status = sink.status() as SpooledSinkStatus;
      assert.equal(status.state, 'ok');
      assert.match(status.lastError ?? '', /HTTP 500/);
      const metrics = await registry.metrics();
      assert.match(metrics, new RegExp(`cms_events_sink_delivered_total\\{sink="webhook"\\} ${events.length}`));
      assert.match(metrics, /cms_events_sink_failures_total\{sink="webhook"\} [1-9]/);
      assert.match(metrics, /cms_events_sink_backlog\{sink="webhook"\} 0/);
      assert.match(metrics, /cms_events_sink_delivery_latency_seconds_count\{sink="webhook"\} 300/);
      await sink.close();
    }));

  test('429 and 408 are retried after Retry-After', () =>
    withReceiver('webhook-429', async (receiver, dir) => {
      receiver.reply = (i) =>
        i === 0 ? { status: 429, headers: { 'retry-after': '5' } } : i === 1 ? { status: 408, headers: { 'retry-after': '3' } } : { status: 200 };
      await receiver.start();
      const clock = new ManualClock();
      const sink = await webhookSink(dir, receiver.port, {}, undefined, undefined, clock);
      const failures = () => (sink.status() as SpooledSinkStatus).failures;
      const events = makeEvents(['cms-a'], 10);
      await writeAll(sink, events);
      // backoffInitialMs is 20 ms: the retry waits exactly the Retry-After (other timers, such
      // as the spool's sync, may fall due on the way).
      for (const [answer, seconds] of [[1, 5], [2, 3]] as const) {
        await waitFor(() => failures() === answer, `answer ${answer}`, 10_000);
        await clock.advance(seconds * 1000 - 1);
        assert.equal(clock.nextIn, 1, `the retry falls due ${seconds} s after answer ${answer}`);
        await clock.advance(1);
      }
      await waitFor(() => receiver.acceptedIds().length === 10, 'delivered', 10_000);
      const [first, second, third] = receiver.requests;
      assert.equal(first!.status, 429);
      assert.equal(second!.status, 408);
      assert.equal(receiver.requests.length, 3);
      assert.deepEqual(receiver.acceptedIds(), events.map((e) => e.id));
      assert.equal(first!.body, third!.body, 'the same batch is sent again');
      await sink.close();
    }));

  test('400 is not retried: the batch is reported (log, status, metrics) and later batches go on', () =>
    withReceiver('webhook-400', async (receiver, dir) => {
      receiver.reply = (i) => (i === 0 ? { status: 400, body: `bad payload; your secret ${SECRET} is wrong` } : { status: 200 });
      await receiver.start();
      const logs = recordLogs('info');
      const registry = new Registry();
      const sink = await webhookSink(dir, receiver.port, { batch: 10 }, logs.logger, registry);
      const events = makeEvents(['cms-a'], 30);
      await writeAll(sink, events.slice(0, 10));
      await waitFor(() => (sink.status() as SpooledSinkStatus).rejected === 10, 'refused', 20_000);
      await writeAll(sink, events.slice(10));
      await waitFor(() => receiver.acceptedIds().length === 20, 'rest delivered', 20_000);
      assert.equal(receiver.requests.length, 3, 'the refused batch was sent once');
      assert.deepEqual(receiver.acceptedIds(), events.slice(10).map((e) => e.id));
      const refusal = logs.lines.find((l) => l.msg.includes('refused a batch for good'));
      assert.ok(refusal, 'logged');
      assert.match(String(refusal!.error), /HTTP 400/);
      assert.equal(refusal!.events, 10);
      assert.equal(refusal!.firstId, events[0]!.id);
      const status = sink.status() as SpooledSinkStatus;
      assert.match(status.lastError ?? '', /HTTP 400/);
      assert.equal(status.rejected, 10);
      assert.match(await registry.metrics(), /cms_events_sink_rejected_total\{sink="webhook"\} 10/);
      // The receiver echoed the secret: it is masked everywhere.
      assert.ok(!logs.text().includes(SECRET));
      assert.ok(!JSON.stringify(status).includes(SECRET));
      await sink.close();
    }));

  test('413: a batch too large for the receiver is split until it fits; nothing is lost or reordered', () =>
    withReceiver('webhook-413', async (receiver, dir) => {
      receiver.reply = () => ({ status: 200 });
      receiver.limitEvents = 7; // more than 7 events in a body: 413
      await receiver.start();
      const sink = await webhookSink(dir, receiver.port, { batch: 50 });
      const events = makeEvents(['cms-a', 'cms-b'], 60);
      await writeAll(sink, events);
      await waitFor(() => sink.status().delivered === events.length, 'all delivered', 20_000);
      assert.deepEqual(receiver.acceptedIds(), events.map((e) => e.id), 'each once, in order');
      assert.ok(receiver.requests.some((r) => r.status === 413), 'the receiver did refuse large bodies');
      for (const r of receiver.requests) if (r.status < 300) assert.ok(r.events.length <= 7);
      const status = sink.status() as SpooledSinkStatus;
      assert.equal(status.rejected, 0);
      assert.equal(status.backlog, 0);
      await sink.close();
    }));

  test('413 for one event on its own: only that event is refused, the rest of its batch goes on', () =>
    withReceiver('webhook-413-one', async (receiver, dir) => {
      receiver.limitBytes = 4000;
      await receiver.start();
      const logs = recordLogs('info');
      const sink = await webhookSink(dir, receiver.port, { batch: 10 }, logs.logger);
      const events = makeEvents(['cms-a'], 20);
      const huge = events[13]!;
      if (huge.type === 'call.updated') huge.call.name = 'x'.repeat(5000);
      await writeAll(sink, events);
      await waitFor(() => sink.status().backlog === 0, 'all settled', 20_000);
      const expected = events.filter((e) => e !== huge).map((e) => e.id);
      assert.deepEqual(receiver.acceptedIds(), expected, 'every other event once, in order');
      const status = sink.status() as SpooledSinkStatus;
      assert.equal(status.rejected, 1);
      assert.match(status.lastError ?? '', /HTTP 413 .*larger than the receiver takes/);
      const refusal = logs.lines.find((l) => l.msg.includes('refused a batch for good'));
      assert.equal(refusal?.events, 1);
      assert.equal(refusal?.firstId, huge.id);
      await sink.close();
    }));

  test('a full spool holds the writer back until the receiver is back; said once in logs and metrics', () =>
    withReceiver('webhook-full', async (receiver, dir) => {
      const logs = recordLogs('info');
      const registry = new Registry();
      const sink = await webhookSink(dir, receiver.port, { spoolMaxBytes: 64 * 1024 }, logs.logger, registry);
      const events = makeEvents(['cms-a', 'cms-b'], 400);
      let pending: Promise<void> | undefined;
      let written = 0;
      for (const e of events) {
        written += 1;
        const p = sink.write(e, JSON.stringify(e));
        if (p) {
          pending = p;
          break;
        }
      }
      assert.ok(pending, 'write returned a promise once the spool was full');
      assert.ok(written < events.length);
      let resolved = false;
      void pending.then(() => (resolved = true));
      // The sink has tried (and failed) more than once meanwhile: the writer is still held.
      await waitFor(() => (sink.status() as SpooledSinkStatus).failures >= 2, 'retries against the dead receiver', 20_000);
      assert.equal(resolved, false, 'still held while the receiver is down');
      assert.equal(sink.status().full, true);
      assert.match(await registry.metrics(), /cms_events_sink_spool_full\{sink="webhook"\} 1/);
      assert.equal(logs.count('spool full'), 1);

      await receiver.start();
      await pending;
      await writeAll(sink, events.slice(written));
      await waitFor(() => sink.status().backlog === 0, 'all delivered', 20_000);
      const { duplicates, problems } = checkDelivered(events, receiver.acceptedIds());
      assert.deepEqual(problems, []);
      assert.equal(duplicates, 0);
      assert.equal(sink.status().full, false);
      assert.equal(logs.count('spool has room again'), logs.count('spool full'));
      assert.match(await registry.metrics(), /cms_events_sink_spool_full_episodes_total\{sink="webhook"\} [1-9]/);
      await sink.close();
    }));

  test('daemon killed with a non-empty spool: a new sink over the same spool delivers everything, old events first', () =>
    withReceiver('webhook-restart', async (receiver, dir) => {
      // The receiver answers 503 while the "daemon" runs, so the events stay spooled.
      receiver.reply = () => ({ status: 503 });
      await receiver.start();
      const child = fork(fileURLToPath(import.meta.url), [dir, String(receiver.port), '600'], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, CMS_SINK_CHILD: 'webhook' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const spooled = await new Promise<{ ids: string[]; servers: string[] }>((resolve, reject) => {
        child.once('message', (m) => resolve(m as { ids: string[]; servers: string[] }));
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      child.removeAllListeners('exit');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      assert.equal(receiver.acceptedIds().length, 0);

      receiver.reply = () => ({ status: 200 });
      const sink = await webhookSink(dir, receiver.port);
      assert.equal(sink.status().backlog, 600, 'the new instance sees the spooled events');
      const fresh = makeEvents(['a', 'b', 'c'], 20);
      await writeAll(sink, fresh);
      await waitFor(() => sink.status().backlog === 0, 'all delivered', 20_000);
      const old = spooled.ids.map((id, i) => ({ id, server: spooled.servers[i]! }) as CmsEvent);
      const { duplicates, problems } = checkDelivered([...old, ...fresh], receiver.acceptedIds());
      assert.deepEqual(problems, []);
      assert.equal(duplicates, 0);
      assert.deepEqual(receiver.acceptedIds().slice(0, 600), spooled.ids, 'old events first, in order');
      await sink.close();
    }));
}
