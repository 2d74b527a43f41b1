// The CDR receiver (issue 17): records per second a fleet of CMSs can push through it, and the
// time from a POST to its event on stdout. Every side in its own process: the daemon (the
// built `bin/cms-events run`, its `cdr` receiver on, durable writes as shipped: each 200 after
// the body's fdatasync), a plain node:http server as the raw baseline (reads each body, answers
// 200, stores and parses nothing), and the simulated CMSs (bench/lib/cdr-sim.ts) whose CDR
// pushers POST as a CMS does: one POST in flight per receiver, over one keep-alive connection.
//
// The simulator hosts two sets of servers, `cms-*` (followed by the daemon, receiver pointing at
// it) and `raw-*` (receiver pointing at the plain server), identical but for the URL. One daemon
// serves every run (warmed up by a first run not counted), so recordIndex goes on across runs.
//   1. Fleet: 20 servers each burst N records at once (the full sequence of short calls of two
//      people), one record per POST. Daemon runs and plain runs alternate (A B, B A, …, the
//      order swapped every round); a daemon run is done once every pusher is drained (all
//      answered 200) AND every cdr.* line of the run was read from the daemon's stdout. The
//      ratio is the median over rounds of daemon/plain of the same round. CPU per record is the
//      receiving process's user + system time over the run (/proc), divided by its records.
//   2. One server, 1 and 10 records per POST, the same way.
//   3. Latency: this process acts as a CMS (an undici Client, keep-alive, one POST in flight),
//      one record per POST at a fixed rate, each record its own recordIndex; from the send to
//      the 200 (the fdatasync), and to the line with that recordIndex on the daemon's stdout
//      (stamped as it is read).
// With --profile (not part of the figures): the XML reading alone, in this process; the fleet
// run through a second daemon whose stateDir is on tmpfs (fdatasync costs nothing there),
// interleaved with the measured daemon and the plain server; then the measured daemon afresh
// under --cpu-prof takes one more fleet run, whose profile is summarised by function and by part
// of the daemon (bench/lib/profile-parts.ts).
// With --variant DIR (not part of the figures): an A/B of a change. The daemon of that checkout
// (its own build) follows a third set of 20 servers with its stateDir on the same disk, and the
// fleet run goes through this daemon, that one and the plain server, interleaved, for at least
// 8 rounds: the per-round ratio this/variant (two identical builds came out 0.94–1.0).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Client } from 'undici';
import type * as CdrParse from '../../src/cdr/parse.js';
import type { CdrStats } from '../../src/simulator/index.js';
import { callRecords, cdrBody, newCallScript, type NumberedRecord } from '../../test/helpers/cdr-bodies.js';
import { freePort } from '../../test/helpers/daemon.js';
import { spawnChild, type BenchProcess } from '../lib/child.js';
import { loadDist } from '../lib/dist.js';
import { cpuProfileFlags, mainThreadProfile } from '../lib/clients.js';
import { sleep, waitFor, wallNow } from '../lib/clock.js';
import { formatSummary, readProfile, summarize } from '../lib/cpuprofile.js';
import { serverEntries, type ApiServer } from '../lib/daemon.js';
import { LineReader } from '../lib/lines.js';
import { timeByPart, type Part } from '../lib/profile-parts.js';
import { cpuSecondsOf } from '../lib/proc.js';
import { fmt, loadNow, profilesDir, type BenchContext, type BenchResult, type Benchmark, type Row } from '../lib/report.js';
import { median, percentile, round, sortedCopy } from '../lib/stats.js';
import type { SimServerInfo } from '../sim-process.js';

const SERVERS = 20;
const TOKEN = 'bench-cdr-token-0123456789abcdef';
const RATIO_TARGET = 0.5;
/** Between runs: the previous side finishes what it still does (stored models, spool acks). */
const SETTLE_MS = 500;
const PARTICIPANTS = 2;
/** Records per call of PARTICIPANTS people: 4 per leg, call start and end. */
const RECORDS_PER_CALL = 4 * PARTICIPANTS + 2;

/** One receiving side: a set of simulated servers and the process their records go to. */
interface Side {
  name: string;
  /** The simulator's set of servers whose receivers point at this side. */
  set: string;
  pid(): number;
  /** For a daemon: its stdout, where a run waits for every cdr.* line. */
  daemon?: () => CdrDaemon;
}

interface Run {
  side: string;
  records: number;
  ms: number;
  recordsPerSecond: number;
  /** CPU of the receiving process (daemon or plain server) per record, µs. */
  cpuPerRecordUs: number;
  /** Of which in the kernel (system time), µs. */
  systemPerRecordUs: number;
  /** CPU of the receiving process over the run, fraction of one core. */
  receiverCpu: number;
  simulatorCpu: number;
  /** This process (reads and parses the daemon's stdout; idle for the plain server). */
  readerCpu: number;
  /** The receiving process's threads, busiest first: share of a core over the run. */
  threads: { name: string; share: number }[];
  /** POSTs not answered 200 in the run (re-sent by the pusher). */
  failures: number;
  posts: number;
  load: number;
}

/** utime and stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

/** utime + stime of each thread of a process, in clock ticks, by thread id (with its name). */
function threadTicks(pid: number): Map<number, { name: string; ticks: number }> {
  const threads = new Map<number, { name: string; ticks: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(Number(tid), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return threads;
}

/** Each thread's share of a core between two readings, busiest first ("main" is the thread whose id is the pid). */
function threadShares(pid: number, before: Map<number, { name: string; ticks: number }>, after: Map<number, { name: string; ticks: number }>, seconds: number): { name: string; share: number }[] {
  const tick = 100; // USER_HZ on Linux
  return [...after]
    .map(([tid, { name, ticks }]) => ({ name: tid === pid ? 'main' : name, share: (ticks - (before.get(tid)?.ticks ?? 0)) / tick / seconds }))
    .filter((t) => t.share >= 0.01)
    .sort((a, b) => b.share - a.share);
}

/** The daemon with its `cdr` section, its stdout read line by line as it streams. */
interface CdrDaemon {
  proc: BenchProcess;
  url: string;
  /** cdr.* lines read so far, and when the last arrived (wall clock). */
  cdrLines(): number;
  lastCdrAt(): number;
  /** Resolves with the arrival time of the line of (session, recordIndex); call it before the POST. */
  expect(session: string, recordIndex: number): Promise<number>;
  stop(): Promise<void>;
}

async function startCdrDaemon(options: { servers: readonly SimServerInfo[]; dir: string; cdrPort: number; label: string; nodeFlags?: string[]; checkout?: string }): Promise<CdrDaemon> {
  const httpPort = await freePort();
  const config = join(options.dir, `config-${Date.now()}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      servers: serverEntries(options.servers),
      http: { host: '127.0.0.1', port: httpPort },
      sinks: [{ type: 'stdout' }],
      log: { level: 'info' },
      stateDir: join(options.dir, 'state'),
      cdr: { listen: { host: '127.0.0.1', port: options.cdrPort }, token: TOKEN },
    }),
  );
  const proc = spawnChild({ script: options.checkout ? join(options.checkout, 'bin', 'cms-events') : 'bin/cms-events', args: ['run', '--config', config], nodeFlags: options.nodeFlags, stdout: 'pipe', label: options.label });
  let lines = 0;
  let lastAt = 0;
  /** Lines awaited by the latency figure (registered before their POST is sent). */
  const waiting = new Map<string, (at: number) => void>();
  // Every line parsed, as a real consumer does.
  new LineReader(proc.stdout, (line, at) => {
    let event: { type?: string; session?: string; recordIndex?: number };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    if (typeof event.type !== 'string' || !event.type.startsWith('cdr.')) return;
    lines++;
    lastAt = at;
    if (waiting.size === 0) return;
    const key = `${event.session}#${event.recordIndex}`;
    const resolve = waiting.get(key);
    if (resolve) {
      waiting.delete(key);
      resolve(at);
    }
  });
  const url = `http://127.0.0.1:${httpPort}`;
  const daemon: CdrDaemon = {
    proc,
    url,
    cdrLines: () => lines,
    lastCdrAt: () => lastAt,
    expect(session, recordIndex) {
      return new Promise((resolve) => waiting.set(`${session}#${recordIndex}`, resolve));
    },
    async stop() {
      await proc.stop();
    },
  };
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`the daemon exited\n${proc.tail()}`);
        const list = await fetch(`${url}/api/servers`, { signal: AbortSignal.timeout(10_000) })
          .then(async (r) => (r.ok ? ((await r.json()) as ApiServer[]) : []))
          .catch(() => []);
        return list.length === options.servers.length && list.every((s) => s.state === 'live');
      },
      'every server to be live in the daemon',
      60_000,
      100,
    );
    // The receiver answers 503 until a server is followed: a POST of no record must pass for each.
    for (const server of options.servers) {
      await waitFor(async () => (await post(`http://127.0.0.1:${options.cdrPort}/cdr/${encodeURIComponent(server.name)}?token=${TOKEN}`, cdrBody(randomUUID(), []))) === 200, `the CDR receiver to take ${server.name}'s records`, 30_000, 50);
    }
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return daemon;
}

async function post(url: string, body: string): Promise<number> {
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body, signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

interface Rig {
  sim: BenchProcess;
  plain: BenchProcess;
  /** The daemon the figures are of (stateDir on the machine's disk). */
  daemon: CdrDaemon;
  dir: string;
  cdrPort: number;
  servers: SimServerInfo[];
}

/**
 * One run: `calls` calls on each of the first `count` servers of the side's set, all at once;
 * done when the pushers are drained and, for a daemon, every cdr.* line of the run was read.
 */
async function runOnce(rig: Rig, side: Side, count: number, calls: number): Promise<Run> {
  const set = side.set;
  const pid = side.pid();
  const daemon = side.daemon?.();
  const lines0 = daemon?.cdrLines() ?? 0;
  const before = await rig.sim.call<CdrStats>('stats', { set, count });
  const threads0 = threadTicks(pid);
  const cpu0 = { receiver: cpuSecondsOf(pid), ticks: cpuTicks(pid), sim: cpuSecondsOf(rig.sim.pid), reader: cpuSecondsOf(process.pid) };
  const burst = await rig.sim.call<{ t: number; records: number }>('burst', { set, count, calls, participants: PARTICIPANTS });
  if (burst.records !== count * calls * RECORDS_PER_CALL) throw new Error(`burst made ${burst.records} records, not ${count * calls * RECORDS_PER_CALL}`);
  const drained = await rig.sim.call<{ t: number; stats: CdrStats }>('drained', { set, count, timeoutMs: 300_000 }, 310_000);
  let end = drained.t;
  if (daemon) {
    await waitFor(() => daemon.cdrLines() - lines0 >= burst.records, `the ${burst.records} cdr.* lines of the run on the daemon's stdout`, 120_000, 2);
    end = Math.max(end, daemon.lastCdrAt());
  }
  const cpu1 = { receiver: cpuSecondsOf(pid), ticks: cpuTicks(pid), sim: cpuSecondsOf(rig.sim.pid), reader: cpuSecondsOf(process.pid) };
  const ms = end - burst.t;
  const threads = threadShares(pid, threads0, threadTicks(pid), ms / 1000);
  const after = drained.stats;
  const receiverSeconds = cpu1.receiver - cpu0.receiver;
  const ticks = cpu1.ticks.user - cpu0.ticks.user + (cpu1.ticks.system - cpu0.ticks.system);
  const systemShare = ticks === 0 ? 0 : (cpu1.ticks.system - cpu0.ticks.system) / ticks;
  return {
    side: side.name,
    records: burst.records,
    ms,
    recordsPerSecond: burst.records / (ms / 1000),
    cpuPerRecordUs: (receiverSeconds / burst.records) * 1e6,
    systemPerRecordUs: ((receiverSeconds * systemShare) / burst.records) * 1e6,
    receiverCpu: receiverSeconds / (ms / 1000),
    simulatorCpu: (cpu1.sim - cpu0.sim) / (ms / 1000),
    readerCpu: (cpu1.reader - cpu0.reader) / (ms / 1000),
    threads,
    failures: after.failures - before.failures,
    posts: after.posts - before.posts,
    load: Number(loadNow()),
  };
}

const describeRun = (r: Run) =>
  `${r.side.padEnd(6)} ${fmt.rate(r.recordsPerSecond).padStart(8)} (${r.records} in ${fmt.s(r.ms)}, ${r.posts} POSTs${r.failures ? `, ${r.failures} failed` : ''}; cpu ${fmt.pct(r.receiverCpu, 0)}, ${r.cpuPerRecordUs.toFixed(0)} µs/record of which system ${r.systemPerRecordUs.toFixed(0)}; threads ${r.threads.slice(0, 3).map((t) => `${t.name} ${fmt.pct(t.share, 0)}`).join(', ')}; simulator ${fmt.pct(r.simulatorCpu, 0)}, reader ${fmt.pct(r.readerCpu, 0)})`;

/** `rounds` rounds of a run of every side, the order reversed every other round (A B, B A, …). */
async function interleavedRuns(ctx: BenchContext, rig: Rig, label: string, sides: readonly Side[], rounds: number, count: number, calls: number, prepare: () => Promise<void> = async () => {}): Promise<Run[][]> {
  const runs: Run[][] = sides.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = [...sides.keys()];
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      await prepare();
      await sleep(SETTLE_MS);
      runs[i]!.push(await runOnce(rig, sides[i]!, count, calls));
    }
    const first = runs[0]!.at(-1)!;
    ctx.log(
      `  ${label} round ${round + 1}/${rounds} (load ${loadNow()}): ${order.map((i) => describeRun(runs[i]!.at(-1)!)).join(' | ')} → ` +
        sides.slice(1).map((_, k) => fmt.ratio(first.recordsPerSecond / runs[k + 1]!.at(-1)!.recordsPerSecond)).join(', '),
    );
  }
  return runs;
}

interface Comparison {
  daemon: number;
  plain: number;
  ratio: number;
  cpuPerRecordUs: { daemon: number; plain: number };
  systemPerRecordUs: { daemon: number; plain: number };
  cpu: { daemon: number; plain: number; simulatorWithDaemon: number; simulatorWithPlain: number; readerWithDaemon: number };
}

/** `a` against `b` (adjacent runs of the same rounds). */
function compare(a: readonly Run[], b: readonly Run[]): Comparison {
  return {
    daemon: median(a.map((r) => r.recordsPerSecond)),
    plain: median(b.map((r) => r.recordsPerSecond)),
    ratio: median(a.map((d, i) => d.recordsPerSecond / b[i]!.recordsPerSecond)),
    cpuPerRecordUs: { daemon: median(a.map((r) => r.cpuPerRecordUs)), plain: median(b.map((r) => r.cpuPerRecordUs)) },
    systemPerRecordUs: { daemon: median(a.map((r) => r.systemPerRecordUs)), plain: median(b.map((r) => r.systemPerRecordUs)) },
    cpu: {
      daemon: median(a.map((r) => r.receiverCpu)),
      plain: median(b.map((r) => r.receiverCpu)),
      simulatorWithDaemon: median(a.map((r) => r.simulatorCpu)),
      simulatorWithPlain: median(b.map((r) => r.simulatorCpu)),
      readerWithDaemon: median(a.map((r) => r.readerCpu)),
    },
  };
}

const roundRun = (r: Run) => ({ ...r, ms: round(r.ms, 1), recordsPerSecond: round(r.recordsPerSecond), cpuPerRecordUs: round(r.cpuPerRecordUs, 1), systemPerRecordUs: round(r.systemPerRecordUs, 1), receiverCpu: round(r.receiverCpu, 3), simulatorCpu: round(r.simulatorCpu, 3), readerCpu: round(r.readerCpu, 3) });

interface Latency {
  samples: number;
  ratePerSecond: number;
  answerMs: { p50: number; p99: number; max: number };
  eventMs: { p50: number; p99: number; max: number };
  /** Lines read before the 200 was (the event is made from the stored body; the 200 waits for the fdatasync). */
  eventBeforeAnswer: number;
}

/** This process as a CMS: one record per POST, `rate` per second, one POST in flight. */
async function latency(rig: Rig, samples: number, rate: number): Promise<Latency> {
  const warmUp = 20;
  const server = rig.servers[0]!.name;
  const session = randomUUID();
  const client = new Client(`http://127.0.0.1:${rig.cdrPort}`, { keepAliveTimeout: 60_000 });
  const path = `/cdr/${encodeURIComponent(server)}?token=${TOKEN}`;
  let pending: NumberedRecord[] = [];
  let nextIndex = 1;
  const nextRecord = (): NumberedRecord => {
    if (pending.length === 0) {
      pending = callRecords(newCallScript(session, nextIndex, PARTICIPANTS));
      nextIndex += pending.length;
    }
    return pending.shift()!;
  };
  const answers: number[] = [];
  const sent: { at: number; answeredAt: number; line: Promise<number> }[] = [];
  const intervalMs = 1000 / rate;
  try {
    const start = wallNow();
    for (let i = 0; i < warmUp + samples; i++) {
      const due = start + i * intervalMs;
      const wait = due - wallNow();
      if (wait > 0) await sleep(wait);
      const record = nextRecord();
      const line = rig.daemon.expect(session, record.recordIndex);
      const at = wallNow();
      const response = await client.request({ method: 'POST', path, headers: { 'content-type': 'text/xml' }, body: cdrBody(session, [record]) });
      await response.body.dump();
      const answeredAt = wallNow();
      if (response.statusCode !== 200) throw new Error(`a latency POST was answered ${response.statusCode}`);
      if (i >= warmUp) {
        answers.push(answeredAt - at);
        sent.push({ at, answeredAt, line });
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const lines = await Promise.race([
      Promise.all(sent.map((s) => s.line)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('latency: not every record\'s line arrived within 30 s')), 30_000))),
    ]);
    clearTimeout(timer);
    const events = lines.map((t, i) => t - sent[i]!.at);
    const a = sortedCopy(answers);
    const e = sortedCopy(events);
    return {
      samples,
      ratePerSecond: rate,
      answerMs: { p50: percentile(a, 50), p99: percentile(a, 99), max: a[a.length - 1]! },
      eventMs: { p50: percentile(e, 50), p99: percentile(e, 99), max: e[e.length - 1]! },
      eventBeforeAnswer: lines.filter((t, i) => t < sent[i]!.answeredAt).length,
    };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** The daemon's work on a CDR POST, by part (the frame nearest the leaf that a part claims). */
const DAEMON_PARTS: Part[] = [
  { name: 'XML parse (parseCdrBody: saxes)', claims: (_, url) => url === 'saxes' || url === 'xmlchars' || url.startsWith('dist/cdr/parse.js') || url.startsWith('dist/xml-tree.js') },
  { name: 'event lines (JSON of each event)', claims: (_, url) => url.startsWith('dist/state/event-line.js') },
  { name: 'ledger and model (state/)', claims: (_, url) => url.startsWith('dist/state/') },
  { name: 'journal append (writeSync per body)', claims: (_, url) => url.startsWith('dist/hub/model-journal.js') },
  { name: 'stdout sink (write to the pipe)', claims: (_, url) => url.startsWith('dist/sinks/stdout.js') },
  { name: 'intake spool: write + fdatasync', claims: (_, url) => url.startsWith('dist/sinks/spool/') },
  { name: 'intake: store/dispatch (JSON of the body, uuid)', claims: (_, url) => url.startsWith('dist/cdr/intake.js') },
  { name: 'stored models (written once a second)', claims: (_, url) => /^dist\/hub\/(model-writer|model-store|stored-models)\.js/.test(url) },
  { name: 'pipeline (hub/, other)', claims: (_, url) => url.startsWith('dist/hub/server-pipeline.js') || url.startsWith('dist/hub/cdr-records.js') },
  { name: 'receiver: answer (writeHead/end → socket write)', claims: (fn, url) => fn === 'answer' && url.startsWith('dist/cdr/receiver.js') },
  { name: 'receiver: request (token, body read)', claims: (_, url) => url.startsWith('dist/cdr/receiver.js') },
  { name: 'metrics (prom-client)', claims: (_, url) => url === 'prom-client' },
  { name: 'events feed (session/)', claims: (_, url) => url.startsWith('dist/session/') },
  { name: 'node:http, net (no daemon frame: parsing, sockets)', claims: (_, url) => /^node:(internal\/)?(_http|http|net|stream)/.test(url) || url.startsWith('node:internal/streams') || url.startsWith('node:internal/stream_base'), fallback: true },
  { name: 'garbage collector', claims: (fn) => fn === '(garbage collector)' },
  { name: '(program): V8 and libuv outside JS', claims: (fn) => fn === '(program)' },
];

/**
 * --profile: what reading the XML costs, in this process, on bodies in the CDR guide's shapes
 * (test/helpers/cdr-bodies.ts): the daemon's parseCdrBody (saxes) on bodies of 1 and of 10
 * records; for comparison fast-xml-parser, which it used before, with its validation pass and
 * without (a dev dependency kept for this). Alternating passes, median.
 */
async function parseCost(passes: number): Promise<Record<string, number>> {
  const { parseCdrBody } = await loadDist<typeof CdrParse>('cdr/parse.js');
  // The options src/cdr/parse.ts used with fast-xml-parser.
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseAttributeValue: false, parseTagValue: false, trimValues: true, isArray: (name) => name === 'record' || name === 'alarm' });
  const session = randomUUID();
  const records: NumberedRecord[] = [];
  while (records.length < 2_000) records.push(...callRecords(newCallScript(session, records.length + 1, PARTICIPANTS)));
  const ones = records.map((r) => cdrBody(session, [r]));
  const tens = Array.from({ length: records.length / 10 }, (_, i) => cdrBody(session, records.slice(i * 10, i * 10 + 10)));
  const variants: Record<string, () => void> = {
    'parseCdrBody, 1 record/body': () => ones.forEach((b) => parseCdrBody(b)),
    'parseCdrBody, 10 records/body': () => tens.forEach((b) => parseCdrBody(b)),
    'fast-xml-parser with validation (as before), 1 record/body': () => ones.forEach((b) => parser.parse(b, true)),
    'fast-xml-parser without validation, 1 record/body': () => ones.forEach((b) => parser.parse(b)),
    'XMLValidator.validate alone, 1 record/body': () => ones.forEach((b) => XMLValidator.validate(b)),
  };
  const micros: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let pass = -2; pass < passes; pass++) {
    for (const [name, run] of Object.entries(variants)) {
      const t0 = process.cpuUsage();
      run();
      const used = process.cpuUsage(t0);
      if (pass >= 0) micros[name]!.push((used.user + used.system) / records.length);
    }
  }
  return Object.fromEntries(Object.entries(micros).map(([name, values]) => [name, round(median(values), 1)]));
}

/** --variant DIR: the fleet run through this build's daemon and the variant's, interleaved with the plain server. */
async function variantRuns(ctx: BenchContext, rig: Rig, sides: { base: Side; plain: Side }, servers: SimServerInfo[], rounds: number, calls: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'cms-events-bench-cdr-variant-'));
  const port = await freePort();
  let variant: CdrDaemon | undefined;
  try {
    variant = await startCdrDaemon({ servers, dir, cdrPort: port, label: 'daemon (cdr, variant)', checkout: ctx.variant! });
    await rig.sim.call('receivers', { set: 'shm', uri: `http://127.0.0.1:${port}/cdr/{name}?token=${TOKEN}` });
    const side: Side = { name: 'variant', set: 'shm', pid: () => variant!.proc.pid, daemon: () => variant! };
    const order = [sides.base, side, sides.plain];
    await interleavedRuns(ctx, rig, 'variant warm-up', order, 1, SERVERS, calls);
    const [base, other, plain] = await interleavedRuns(ctx, rig, 'variant A/B', order, rounds, SERVERS, calls);
    const perRound = base!.map((r, i) => r.recordsPerSecond / other![i]!.recordsPerSecond);
    const figures = {
      checkout: ctx.variant,
      baseOverVariant: round(median(perRound), 3),
      perRound: perRound.map((x) => round(x, 3)),
      basePlain: round(compare(base!, plain!).ratio, 3),
      variantPlain: round(compare(other!, plain!).ratio, 3),
      cpuPerRecordUs: { base: round(median(base!.map((r) => r.cpuPerRecordUs)), 1), variant: round(median(other!.map((r) => r.cpuPerRecordUs)), 1) },
    };
    ctx.log(
      `  variant A/B (${rounds} rounds): this build / variant ${fmt.ratio(figures.baseOverVariant)} (rounds ${figures.perRound.join(' ')}); ` +
        `against plain: this build ${fmt.ratio(figures.basePlain)}, variant ${fmt.ratio(figures.variantPlain)}; CPU per record ${figures.cpuPerRecordUs.base} / ${figures.cpuPerRecordUs.variant} µs`,
    );
    return figures;
  } finally {
    await variant?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * --profile, not part of the figures. A breakdown: the fleet run through the daemon (stateDir on
 * disk, as measured), through a second daemon whose stateDir is on tmpfs (/dev/shm: fdatasync
 * costs nothing there) following its own 20 servers, and through the plain server, interleaved.
 * Then the measured daemon afresh under --cpu-prof (same state folder, same port) takes a
 * warm-up run and one fleet run, and its profile over that run is summarised: self time, and
 * time by part of the daemon (who called the native code).
 */
async function profileRuns(ctx: BenchContext, rig: Rig, sides: { disk: Side; plain: Side }, shmServers: SimServerInfo[], rounds: number, calls: number): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  const parse = await parseCost(ctx.quick ? 5 : 9);
  ctx.log(`  XML reading in-process (CPU per record, median of alternating passes): ${Object.entries(parse).map(([name, us]) => `${name} ${us} µs`).join('; ')}`);
  result.parseMicrosecondsPerRecord = parse;
  const shmDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'cms-events-bench-cdr-'));
  const shmPort = await freePort();
  let shm: CdrDaemon | undefined;
  try {
    shm = await startCdrDaemon({ servers: shmServers, dir: shmDir, cdrPort: shmPort, label: 'daemon (cdr, stateDir on tmpfs)' });
    await rig.sim.call('receivers', { set: 'shm', uri: `http://127.0.0.1:${shmPort}/cdr/{name}?token=${TOKEN}` });
    const shmSide: Side = { name: 'tmpfs', set: 'shm', pid: () => shm!.proc.pid, daemon: () => shm! };
    const order = [sides.disk, shmSide, sides.plain];
    await interleavedRuns(ctx, rig, 'breakdown warm-up', order, 1, SERVERS, calls);
    const runs = await interleavedRuns(ctx, rig, 'breakdown', order, rounds, SERVERS, calls);
    const tmpfs = compare(runs[1]!, runs[2]!);
    const disk = compare(runs[0]!, runs[2]!);
    const diskVsTmpfs = median(runs[0]!.map((r, i) => r.recordsPerSecond / runs[1]![i]!.recordsPerSecond));
    ctx.log(
      `  breakdown (medians): daemon, stateDir on disk ${fmt.rate(disk.daemon)} (${disk.cpuPerRecordUs.daemon.toFixed(0)} µs/record, cpu ${fmt.pct(disk.cpu.daemon, 0)}); ` +
        `stateDir on tmpfs ${fmt.rate(tmpfs.daemon)} (${tmpfs.cpuPerRecordUs.daemon.toFixed(0)} µs/record, cpu ${fmt.pct(tmpfs.cpu.daemon, 0)}); plain ${fmt.rate(disk.plain)}; disk/tmpfs ${fmt.ratio(diskVsTmpfs)}, tmpfs/plain ${fmt.ratio(tmpfs.ratio)}`,
    );
    result.breakdown = { disk, tmpfs, diskVsTmpfs: round(diskVsTmpfs, 3), runs: runs.map((side) => side.map(roundRun)) };
  } finally {
    await shm?.stop();
    rmSync(shmDir, { recursive: true, force: true });
  }

  await rig.daemon.stop();
  const dir = profilesDir(ctx);
  const { flags, folder } = cpuProfileFlags(dir, 'cdr-daemon');
  rig.daemon = await startCdrDaemon({ servers: rig.servers, dir: rig.dir, cdrPort: rig.cdrPort, label: 'daemon (cdr, profiled)', nodeFlags: flags });
  // Warm-up (the pushers' connections to the previous daemon are gone: they reconnect here).
  await runOnce(rig, sides.disk, SERVERS, calls);
  await sleep(SETTLE_MS);
  const run = await runOnce(rig, sides.disk, SERVERS, calls);
  const to = wallNow();
  const from = to - run.ms;
  await rig.daemon.stop();
  const exitedAt = wallNow();
  const file = mainThreadProfile(folder);
  if (!file) return { ...result, run: roundRun(run), profile: 'no profile written' };
  const window = { fromEndMs: exitedAt - from, toEndMs: exitedAt - to };
  const profile = readProfile(file);
  const summary = summarize(profile, { top: 30, ...window });
  const perRecordUs = (summary.busyMs * 1000) / run.records;
  ctx.log(formatSummary(summary, `  CPU profile of the daemon (fleet run, ${fmt.rate(run.recordsPerSecond)} under the profiler, ${perRecordUs.toFixed(1)} µs busy per record)`));
  const byPart = timeByPart(profile, DAEMON_PARTS, window);
  ctx.log(`  the daemon's busy time by part (the daemon's frame nearest the native code), µs per record:`);
  for (const p of byPart.parts) ctx.log(`    ${p.pctOfBusy.toFixed(1).padStart(5)}%  ${((p.ms * 1000) / run.records).toFixed(1).padStart(6)} µs  ${p.name}`);
  return {
    ...result,
    file: file.slice(dir.length + 1),
    window: { fromEndMs: round(window.fromEndMs), toEndMs: round(window.toEndMs) },
    run: roundRun(run),
    busyMicrosecondsPerRecord: round(perRecordUs, 1),
    byPart: byPart.parts.map((p) => ({ ...p, microsecondsPerRecord: round((p.ms * 1000) / run.records, 1) })),
    ...summary,
  };
}

export const cdr: Benchmark = {
  name: 'cdr',
  title: 'CDR receiver: records/s from 20 CMSs and from one (batches of 1 and 10), POST → event latency',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const rounds = ctx.runs ?? (ctx.quick ? 3 : 5);
    const fleetCalls = 50;
    // One server: enough records that the plain server's run lasts a few tenths of a second too.
    const oneCalls: Record<number, number> = ctx.quick ? { 1: 150, 10: 500 } : { 1: 250, 10: 1000 };
    const latencySamples = ctx.quick ? 200 : 500;
    const latencyRate = 100;
    const loadAtStart = Number(loadNow());
    const dir = mkdtempSync(join(tmpdir(), 'cms-events-bench-cdr-'));
    const sim = spawnChild({ script: 'bench/lib/cdr-sim.ts', tsx: true, ipc: true, label: 'simulator (cdr)' });
    const plain = spawnChild({ script: 'bench/lib/cdr-plain-server.ts', tsx: true, ipc: true, label: 'plain HTTP server (cdr)' });
    const data: Record<string, unknown> = {
      servers: SERVERS,
      participantsPerCall: PARTICIPANTS,
      fleetRecordsPerServer: fleetCalls * RECORDS_PER_CALL,
      oneServerRecords: { 1: oneCalls[1]! * RECORDS_PER_CALL, 10: oneCalls[10]! * RECORDS_PER_CALL },
      rounds,
      settleMs: SETTLE_MS,
    };
    let rig: Rig | undefined;
    try {
      const sets = await sim.call<Record<string, SimServerInfo[]>>('start', {
        sets: ctx.profile || ctx.variant ? ['cms', 'raw', 'shm'] : ['cms', 'raw'],
        servers: SERVERS,
        switches: { cdrRecordsPerPost: 1, cdrBufferRecords: 1_000_000, cdrRetryMs: 100 },
      });
      const { port: plainPort } = await plain.call<{ port: number }>('start');
      const cdrPort = await freePort();
      const servers = sets.cms!;
      const daemon = await startCdrDaemon({ servers, dir, cdrPort, label: 'daemon (cdr)' });
      const r: Rig = (rig = { sim, plain, daemon, dir, cdrPort, servers });
      await sim.call('receivers', { set: 'cms', uri: `http://127.0.0.1:${cdrPort}/cdr/{name}?token=${TOKEN}` });
      await sim.call('receivers', { set: 'raw', uri: `http://127.0.0.1:${plainPort}/cdr/{name}?token=${TOKEN}` });
      const daemonSide: Side = { name: 'daemon', set: 'cms', pid: () => r.daemon.proc.pid, daemon: () => r.daemon };
      const plainSide: Side = { name: 'plain', set: 'raw', pid: () => plain.pid };
      const both = [daemonSide, plainSide];

      // 1. The fleet; one warm-up round first (the JIT of both receivers sees the hot path).
      const warm = await interleavedRuns(ctx, r, 'fleet warm-up', both, 1, SERVERS, fleetCalls);
      data.fleetWarmUp = warm.map((side) => side.map(roundRun));
      const [fleetDaemon, fleetPlain] = await interleavedRuns(ctx, r, 'fleet', both, rounds, SERVERS, fleetCalls);
      const fleet = compare(fleetDaemon!, fleetPlain!);
      data.fleet = { ...fleet, daemonRuns: fleetDaemon!.map(roundRun), plainRuns: fleetPlain!.map(roundRun) };

      // 2. One server, 1 and 10 records per POST.
      const perPost: Record<number, Comparison> = {};
      for (const batch of [1, 10]) {
        const setBatch = async () => void (await sim.call('switches', { cdrRecordsPerPost: batch }));
        const [d, p] = await interleavedRuns(ctx, r, `one server, ${batch}/POST`, both, rounds, 1, oneCalls[batch]!, setBatch);
        perPost[batch] = compare(d!, p!);
        data[`oneServer${batch}PerPost`] = { ...perPost[batch], daemonRuns: d!.map(roundRun), plainRuns: p!.map(roundRun) };
      }
      await sim.call('switches', { cdrRecordsPerPost: 1 });

      // 3. POST → 200 and POST → event line.
      await sleep(SETTLE_MS);
      const lat = await latency(r, latencySamples, latencyRate);
      data.latency = { ...lat, answerMs: roundObj(lat.answerMs), eventMs: roundObj(lat.eventMs) };
      ctx.log(
        `  latency, ${lat.samples} POSTs at ${lat.ratePerSecond}/s (load ${loadNow()}): 200 p50 ${fmt.ms(lat.answerMs.p50)} p99 ${fmt.ms(lat.answerMs.p99)} max ${fmt.ms(lat.answerMs.max)}; ` +
          `event on stdout p50 ${fmt.ms(lat.eventMs.p50)} p99 ${fmt.ms(lat.eventMs.p99)} max ${fmt.ms(lat.eventMs.max)}; ${lat.eventBeforeAnswer} lines read before their 200`,
      );

      if (ctx.variant) data.variant = await variantRuns(ctx, r, { base: daemonSide, plain: plainSide }, sets.shm!, Math.max(8, rounds), fleetCalls);
      if (ctx.profile) data.profile = await profileRuns(ctx, r, { disk: daemonSide, plain: plainSide }, sets.shm!, ctx.quick ? 2 : 3, fleetCalls);
      const loadAtEnd = Number(loadNow());
      data.load = { atStart: loadAtStart, atEnd: loadAtEnd };
      const samples = `${rounds} pairs`;
      const rows: Row[] = [
        {
          benchmark: 'cdr',
          figure: `records/s, ${SERVERS} CMSs at once, 1 record/POST (${fleetCalls * RECORDS_PER_CALL} each)`,
          value: fmt.rate(fleet.daemon),
          baseline: fmt.rate(fleet.plain),
          ratio: fmt.ratio(fleet.ratio),
          target: `≥ ${RATIO_TARGET}× raw`,
          verdict: fleet.ratio >= RATIO_TARGET ? 'met' : 'missed',
          runs: samples,
        },
        { benchmark: 'cdr', figure: 'CPU per record, 20 CMSs (receiving process)', value: `${fleet.cpuPerRecordUs.daemon.toFixed(0)} µs`, baseline: `${fleet.cpuPerRecordUs.plain.toFixed(0)} µs`, ratio: fmt.ratio(fleet.cpuPerRecordUs.daemon / fleet.cpuPerRecordUs.plain), target: '', verdict: 'info', runs: samples },
        { benchmark: 'cdr', figure: 'CPU of the receiving process, 20 CMSs', value: fmt.pct(fleet.cpu.daemon, 0), baseline: fmt.pct(fleet.cpu.plain, 0), ratio: '', target: '', verdict: 'info', runs: samples },
        ...[1, 10].map(
          (batch): Row => ({
            benchmark: 'cdr',
            figure: `records/s, one CMS, ${batch} record${batch === 1 ? '' : 's'}/POST (${oneCalls[batch]! * RECORDS_PER_CALL})`,
            value: fmt.rate(perPost[batch]!.daemon),
            baseline: fmt.rate(perPost[batch]!.plain),
            ratio: fmt.ratio(perPost[batch]!.ratio),
            target: '',
            verdict: 'info',
            runs: samples,
          }),
        ),
        ...[1, 10].map(
          (batch): Row => ({
            benchmark: 'cdr',
            figure: `CPU per record, one CMS, ${batch}/POST (receiving process)`,
            value: `${perPost[batch]!.cpuPerRecordUs.daemon.toFixed(0)} µs`,
            baseline: `${perPost[batch]!.cpuPerRecordUs.plain.toFixed(0)} µs`,
            ratio: fmt.ratio(perPost[batch]!.cpuPerRecordUs.daemon / perPost[batch]!.cpuPerRecordUs.plain),
            target: '',
            verdict: 'info',
            runs: samples,
          }),
        ),
        ...(['p50', 'p99', 'max'] as const).map((p): Row => ({ benchmark: 'cdr', figure: `POST → cdr.* line on stdout, ${p} (${latencyRate}/s)`, value: fmt.ms(lat.eventMs[p]), baseline: '', ratio: '', target: '', verdict: 'info', runs: `${lat.samples} POSTs` })),
        ...(['p50', 'p99'] as const).map((p): Row => ({ benchmark: 'cdr', figure: `POST → 200 (body fdatasync'd), ${p}`, value: fmt.ms(lat.answerMs[p]), baseline: '', ratio: '', target: '', verdict: 'info', runs: `${lat.samples} POSTs` })),
        { benchmark: 'cdr', figure: 'load average (1 min), start → end', value: `${loadAtStart.toFixed(1)} → ${loadAtEnd.toFixed(1)}`, baseline: '', ratio: '', target: '', verdict: 'info', runs: '' },
      ];
      return { rows, data };
    } finally {
      await rig?.daemon.stop();
      await sim.call('stop', undefined, 30_000).catch(() => undefined);
      await sim.stop('SIGTERM', 15_000, 3_000);
      await plain.call('stop', undefined, 10_000).catch(() => undefined);
      await plain.stop('SIGTERM', 15_000, 3_000);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

function roundObj(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, 2)]));
}
