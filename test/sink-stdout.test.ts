// stdout sink: NDJSON only, written in chunks rather than per event, honouring the stream's
// backpressure ('drain'), holding the hub back when far behind, and flushing on close.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Clock } from '../src/clock.js';
import { STDOUT } from '../src/defaults.js';
import { createSinks, type Sink } from '../src/sinks/index.js';
import type { CmsEvent } from '../src/state/events.js';
import { ManualClock, settle } from './helpers/manual-clock.js';
import { makeEvents, recordLogs, waitFor } from './helpers/sinks.js';

class SlowStream extends Writable {
  readonly chunks: string[] = [];
  calls = 0;
  writesWhileNeedingDrain = 0;
  private held: (() => void)[] = [];
  stuck = false;

  constructor() {
    super({ highWaterMark: 16 * 1024, decodeStrings: false });
  }

  override write(chunk: unknown, ...rest: never[]): boolean {
    this.calls += 1;
    if (this.writableNeedDrain) this.writesWhileNeedingDrain += 1;
    return super.write(chunk, ...rest);
  }

  override _write(chunk: string | Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    if (this.stuck) this.held.push(() => cb());
    else setTimeout(cb, 2);
  }

  release(): void {
    this.stuck = false;
    for (const cb of this.held.splice(0)) cb();
  }

  lines(): string[] {
    const text = this.chunks.join('');
    return text ? text.slice(0, -1).split('\n') : [];
  }
}

async function stdoutSink(stream: NodeJS.WritableStream, clock?: Clock): Promise<Sink> {
  const [sink] = await createSinks([{ type: 'stdout' }], {
    logger: recordLogs('silent').logger,
    registry: new Registry(),
    baseDir: '.',
    stdout: stream,
    ...(clock ? { clock } : {}),
  });
  return sink!;
}

if (process.env.CMS_SINK_CHILD === 'stdout') {
  // A daemon's stdout: only NDJSON may appear there; logs go to stderr.
  const logger = pino(pino.destination(2));
  const [sink] = await createSinks([{ type: 'stdout' }], { logger, registry: new Registry(), baseDir: '.' });
  logger.info('child writing events');
  for (const e of makeEvents(['cms-a', 'cms-b'], 2500)) {
    const p = sink!.write(e, JSON.stringify(e));
    if (p) await p;
  }
  await sink!.close();
} else {
  test('lines are written in chunks, never while the stream asks to wait for drain, and all arrive in order', async () => {
    const stream = new SlowStream();
    const sink = await stdoutSink(stream);
    const events = makeEvents(['cms-a', 'cms-b'], 10_000);
    for (let i = 0; i < events.length; i += 200) {
      for (const e of events.slice(i, i + 200)) {
        const p = sink.write(e, JSON.stringify(e));
        if (p) await p;
      }
      await new Promise((r) => setImmediate(r));
    }
    await sink.close();
    const lines = stream.lines();
    assert.equal(lines.length, events.length);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as CmsEvent).id), events.map((e) => e.id));
    assert.deepEqual(JSON.parse(lines[0]!), events[0]);
    assert.ok(stream.calls <= events.length / 100, `${stream.calls} writes for ${events.length} events`);
    assert.equal(stream.writesWhileNeedingDrain, 0, 'backpressure honoured');
    assert.equal(sink.status().delivered, events.length);
    assert.equal(sink.status().state, 'closed');
  });

  test('a lone line waits for the flush timer, on the clock, then goes out', async () => {
    const stream = new SlowStream();
    const clock = new ManualClock();
    const sink = await stdoutSink(stream, clock);
    const [event] = makeEvents(['cms-a'], 1);
    assert.equal(sink.write(event!, JSON.stringify(event)), undefined);
    await settle();
    assert.equal(stream.calls, 0, 'not written before its time');
    assert.equal(clock.nextIn, STDOUT.flushDelayMs);
    await clock.advance(STDOUT.flushDelayMs);
    assert.equal(stream.calls, 1);
    assert.deepEqual(stream.lines().map((l) => (JSON.parse(l) as CmsEvent).id), [event!.id]);
    await sink.close();
  });

  test('in a long burst (no turn of the event loop for the timer), lines are written as they come of age', async () => {
    const stream = new SlowStream();
    const sink = await stdoutSink(stream);
    const events = makeEvents(['cms-a'], 40);
    let writtenInBurst = 0;
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string, ...rest: never[]) => {
      writtenInBurst += chunk.split('\n').length - 1;
      return write(chunk, ...rest);
    }) as typeof stream.write;
    // An event every 0.25 ms for 10 ms in one synchronous stretch, as when many servers' frames
    // are ready in one poll: the 1 ms flush timer cannot fire inside it, so without the age
    // check every line would wait for the end of the burst.
    for (const e of events) {
      void sink.write(e, JSON.stringify(e));
      if (e === events[events.length - 1]) break;
      const until = performance.now() + 0.25;
      while (performance.now() < until);
    }
    const burstCalls = stream.calls;
    const burstLines = writtenInBurst;
    await sink.close();
    await new Promise<void>((resolve) => stream.end(resolve));
    assert.ok(burstLines >= 20, `lines written during the 10 ms burst: ${burstLines} of 40`);
    assert.ok(burstCalls >= 5, `in several chunks (${burstCalls} writes)`);
    assert.deepEqual(stream.lines().map((l) => (JSON.parse(l) as CmsEvent).id), events.map((e) => e.id));
  });

  test('far behind a stuck reader, write returns a promise that resolves once the stream drains', async () => {
    const stream = new SlowStream();
    stream.stuck = true;
    const sink = await stdoutSink(stream);
    const events = makeEvents(['cms-a'], 12_000).map((e) => ({ ...e, call: { ...(e as { call: object }).call, name: 'x'.repeat(900) } }) as unknown as CmsEvent);
    let held: Promise<void> | undefined;
    let written = 0;
    for (const e of events) {
      written += 1;
      const p = sink.write(e, JSON.stringify(e));
      if (p) {
        held = p;
        break;
      }
      if (written % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok(held, 'held back');
    assert.equal(sink.status().full, true);
    let resolved = false;
    void held.then(() => (resolved = true));
    // Only a 'drain' can release it, and the stream asks for one that cannot come while stuck.
    await waitFor(() => stream.writableNeedDrain, 'the sink waiting for drain');
    await settle();
    assert.equal(resolved, false);
    stream.release();
    await held;
    for (const e of events.slice(written)) {
      const p = sink.write(e, JSON.stringify(e));
      if (p) await p;
    }
    await sink.close();
    assert.deepEqual(stream.lines().map((l) => (JSON.parse(l) as CmsEvent).id), events.map((e) => e.id));
  });

  test('a real process: stdout carries exactly the NDJSON events, logs go to stderr', async () => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, CMS_SINK_CHILD: 'stdout' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr);
    const lines = stdout.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, 5000);
    const parsed = lines.map((l) => JSON.parse(l) as CmsEvent);
    assert.ok(parsed.every((e) => typeof e.id === 'string' && e.type === 'call.updated'));
    assert.match(stderr, /child writing events/);
  });
}
