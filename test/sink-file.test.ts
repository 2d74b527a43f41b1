// File sink: NDJSON, size-based rotation (events.ndjson → .1 → .2 …), paths relative to the
// config folder, nothing lost across rotations or a restart.
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createSinks, type Sink } from '../src/sinks/index.js';
import type { CmsEvent } from '../src/state/events.js';
import { makeEvents, recordLogs, tempDir, waitFor } from './helpers/sinks.js';

async function open(dir: string, extra: Record<string, unknown>): Promise<Sink> {
  const [sink] = await createSinks([{ type: 'file', path: 'out/events.ndjson', ...extra } as never], {
    logger: recordLogs('silent').logger,
    registry: new Registry(),
    baseDir: dir,
  });
  return sink!;
}

async function writeAll(sink: Sink, events: CmsEvent[]): Promise<void> {
  for (const e of events) {
    const p = sink.write(e, JSON.stringify(e));
    if (p) await p;
  }
}

/** Lines of events.ndjson.N … .1 and events.ndjson, oldest first. */
async function allLines(dir: string): Promise<{ files: string[]; lines: string[] }> {
  const out = path.join(dir, 'out');
  const files = (await readdir(out)).filter((f) => f.startsWith('events.ndjson'));
  const suffix = (f: string) => (f === 'events.ndjson' ? 0 : Number(f.slice('events.ndjson.'.length)));
  files.sort((a, b) => suffix(b) - suffix(a));
  const lines: string[] = [];
  for (const f of files) {
    const text = await readFile(path.join(out, f), 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a newline`);
    lines.push(...text.slice(0, -1).split('\n'));
  }
  return { files, lines };
}

test('rotation by size keeps every line, in order, each file within maxBytes', async () => {
  const { dir, remove } = await tempDir('file-rotate');
  try {
    const sink = await open(dir, { maxBytes: 16 * 1024, maxFiles: 50 });
    const events = makeEvents(['cms-a', 'cms-b'], 400);
    await writeAll(sink, events);
    await waitFor(() => sink.status().backlog === 0, 'written', 20_000);
    await sink.close();
    const { files, lines } = await allLines(dir);
    assert.ok(files.length >= 5, `rotated into ${files.length} files`);
    for (const f of files) assert.ok((await stat(path.join(dir, 'out', f))).size <= 16 * 1024, `${f} within maxBytes`);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as CmsEvent).id), events.map((e) => e.id));
    assert.deepEqual(JSON.parse(lines[0]!), events[0]);
  } finally {
    await remove();
  }
});

test('maxFiles bounds the rotated files; a restart appends to the live file', async () => {
  const { dir, remove } = await tempDir('file-maxfiles');
  try {
    let sink = await open(dir, { maxBytes: 4096, maxFiles: 2 });
    const first = makeEvents(['cms-a'], 200);
    await writeAll(sink, first);
    await waitFor(() => sink.status().backlog === 0, 'written', 20_000);
    await sink.close();
    sink = await open(dir, { maxBytes: 4096, maxFiles: 2 });
    const second = makeEvents(['cms-a'], 5);
    await writeAll(sink, second);
    await waitFor(() => sink.status().backlog === 0, 'written', 20_000);
    await sink.close();
    const { files, lines } = await allLines(dir);
    assert.deepEqual(files, ['events.ndjson.2', 'events.ndjson.1', 'events.ndjson']);
    const all = [...first, ...second].map((e) => e.id);
    const ids = lines.map((l) => (JSON.parse(l) as CmsEvent).id);
    // The newest events, contiguous and in order.
    assert.deepEqual(ids, all.slice(all.length - ids.length));
  } finally {
    await remove();
  }
});
