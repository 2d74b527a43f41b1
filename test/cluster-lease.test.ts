// Cluster mode's building blocks: server names as KV keys, rendezvous placement (pure), and,
// against a real nats-server -js, the lease (compare-and-set, epochs, the local deadline, TTL),
// the membership bucket and the leases watch, including a nats-server killed and restarted on
// its store.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { serverFromKey, serverKey } from '../src/cluster/keys.js';
import { Lease, leaseMargin, type LeaseClock } from '../src/cluster/lease.js';
import { LeaseWatch } from '../src/cluster/lease-watch.js';
import { Membership } from '../src/cluster/membership.js';
import { placeServers, preferredOwner, DEFAULT_PLACEMENT_TIMINGS, type LeaseView, type PlacementInput } from '../src/cluster/placement.js';
import { requirePrograms } from './helpers/requirements.js';
import { freePort, recordLogs, startNats, tempDir, waitFor, type ServerProcess } from './helpers/sinks.js';

const needs = requirePrograms('nats-server');
const realTime: LeaseClock = { now: () => performance.now() };

/** A LeaseClock the test moves by hand. */
function handClock(start = 0): LeaseClock & { t: number } {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

function natsClient(port: number): Promise<NatsConnection> {
  return connect({ servers: `nats://127.0.0.1:${port}`, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
}

function bucket(nc: NatsConnection, name: string, ttlMs: number): Promise<KV> {
  return new Kvm(nc).create(name, { ttl: ttlMs, history: 1 });
}

/** Checks `condition` every 25 ms for `ms`, failing at the first time it does not hold. */
async function holdsFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    assert.ok(condition(), what);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('server names as KV keys', () => {
  const names = ['cms-a', 'cms.b', 'cms_c', 'CMS-9', 'a=b', 'Zürich-1', '東京', 'host:445', 'x.y.z', '-', '日本語.example.com'];

  test('round-trip exactly, using only [-_=a-zA-Z0-9]', () => {
    for (const name of names) {
      const key = serverKey(name);
      assert.match(key, /^[-_=a-zA-Z0-9]+$/, name);
      assert.equal(serverFromKey(key), name);
    }
    assert.equal(serverKey('cms-a_1'), 'cms-a_1', 'plain names are their own keys');
    assert.equal(serverKey('cms.b'), 'cms=2Eb');
    assert.equal(serverKey('a=b'), 'a=3Db');
    assert.equal(serverKey('ü'), '=C3=BC');
    assert.throws(() => serverKey(''));
  });

  test('keys that are no encoding of a name decode to undefined', () => {
    for (const key of ['', 'a.b', 'a/b', 'a b', '=2e', '=41', '=4', '=', 'a=ZZ', '=FF', '=C3', '=C3=28']) {
      assert.equal(serverFromKey(key), undefined, JSON.stringify(key));
    }
  });
});

describe('placement (rendezvous, pure)', () => {
  const servers = Array.from({ length: 1000 }, (_, i) => `cms-${i}.example.com`);

  test('preferredOwner is stable and spreads 1,000 servers over 3 instances evenly', () => {
    const members = ['inst-a', 'inst-b', 'inst-c'];
    const counts = new Map<string, number>();
    for (const server of servers) {
      const owner = preferredOwner(server, members)!;
      assert.equal(preferredOwner(server, [...members].reverse()), owner, 'independent of the members order');
      assert.equal(preferredOwner(server, members), owner, 'the same every time');
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), members);
    for (const [member, count] of counts) assert.ok(count >= 250 && count <= 420, `${member}: ${count} of 1000`);
    assert.equal(preferredOwner('cms-0', []), undefined);
    console.log(`placement over 3: ${[...counts.values()].join(' / ')}`);
  });

  test('a 4th instance takes about a quarter, all from the others, none moved between them', () => {
    const three = ['inst-a', 'inst-b', 'inst-c'];
    const four = [...three, 'inst-d'];
    let moved = 0;
    for (const server of servers) {
      const before = preferredOwner(server, three);
      const after = preferredOwner(server, four);
      if (before === after) continue;
      moved++;
      assert.equal(after, 'inst-d', `${server} moved from ${before} to ${after}`);
    }
    assert.ok(moved >= 150 && moved <= 350, `${moved} of 1000 moved`);
    console.log(`placement: a 4th instance moved ${moved} of 1000`);
  });

  describe('placeServers', () => {
    const leaseMs = 6_000;
    const t = DEFAULT_PLACEMENT_TIMINGS;
    const now = 1_000_000;
    const longLive = new Map([
      ['a', { since: 0 }],
      ['b', { since: 0 }],
      ['c', { since: 0 }],
    ]);
    const pool = Array.from({ length: 60 }, (_, i) => `srv-${i}`);
    const preferring = (member: string, members: Iterable<string> = longLive.keys()): string[] => {
      const list = [...members];
      return pool.filter((s) => preferredOwner(s, list) === member);
    };
    const input = (over: Partial<PlacementInput>): PlacementInput => ({
      me: 'a',
      now,
      leaseMs,
      startedAt: now - 10 * leaseMs,
      servers: [],
      members: longLive,
      leases: new Map(),
      owned: new Set(),
      lastMoveAt: 0,
      ...over,
    });
    const free = (since: number): LeaseView => ({ held: false, since });
    const held = (owner: string, seenAt: number): LeaseView => ({ held: true, owner, seenAt });

    test('warming up (less than a lease since start), only orphans are taken', () => {
      const [mine, orphan] = preferring('a');
      const decision = placeServers(
        input({
          startedAt: now - leaseMs + 1,
          servers: [mine!, orphan!],
          leases: new Map([
            [mine!, free(now - 1_000)],
            [orphan!, free(now - 2 * leaseMs)],
          ]),
        }),
      );
      assert.deepEqual(decision.acquire, [orphan]);
    });

    test('a free server this instance is preferred for is taken; held unexpired is not; expired is', () => {
      const [freeOne, heldOne, expiredOne, justExpired] = preferring('a');
      const decision = placeServers(
        input({
          servers: [freeOne!, heldOne!, expiredOne!, justExpired!],
          leases: new Map([
            [freeOne!, free(now)],
            [heldOne!, held('b', now - leaseMs)],
            [expiredOne!, held('b', now - leaseMs - t.expiryGraceMs - 1)],
            [justExpired!, held('b', now - leaseMs - t.expiryGraceMs)],
          ]),
        }),
      );
      assert.deepEqual(decision.acquire, [freeOne, expiredOne, justExpired]);
      assert.deepEqual(decision.release, []);
    });

    test('a server another instance prefers: taken after orphanFallbackMs below the fair share', () => {
      const [theirs] = preferring('b');
      const early = placeServers(input({ servers: [theirs!], leases: new Map([[theirs!, free(now - t.orphanFallbackMs + 1)]]) }));
      assert.deepEqual(early.acquire, [], 'the preferred instance gets its chance first');
      const late = placeServers(input({ servers: [theirs!], leases: new Map([[theirs!, free(now - t.orphanFallbackMs)]]) }));
      assert.deepEqual(late.acquire, [theirs]);
      // Fair share of 3 servers over 3 instances: ceil(3 / 3) + 1 = 2. Owning 2, no fallback.
      const [mine1, mine2] = preferring('a');
      const full = placeServers(
        input({ servers: [mine1!, mine2!, theirs!], owned: new Set([mine1!, mine2!]), leases: new Map([[theirs!, free(now - t.orphanFallbackMs)]]) }),
      );
      assert.deepEqual(full.acquire, [], 'at its fair share an instance leaves others’ servers to them');
      const orphan = placeServers(
        input({ servers: [mine1!, mine2!, theirs!], owned: new Set([mine1!, mine2!]), leases: new Map([[theirs!, free(now - 2 * leaseMs)]]) }),
      );
      assert.deepEqual(orphan.acquire, [theirs], 'free for two leases: taken even over the fair share');
    });

    test('rebalancing: at most one release per moveIntervalMs, only to a member live for stableMs', () => {
      const withD = new Map([...longLive, ['d', { since: now - t.stableMs }]]);
      const forD = preferring('d', withD.keys());
      assert.ok(forD.length >= 3, 'some servers prefer d');
      const owned = new Set(forD);
      const base = input({ servers: pool, members: withD, owned, leases: new Map(pool.map((s) => [s, held('b', now)])) });
      assert.deepEqual(placeServers(base).release, [forD[0]], 'one at a time');
      assert.deepEqual(placeServers({ ...base, lastMoveAt: now - t.moveIntervalMs + 1 }).release, [], 'not within moveIntervalMs of the last move');
      assert.deepEqual(placeServers({ ...base, lastMoveAt: now - t.moveIntervalMs }).release, [forD[0]]);
      const youngD = new Map([...longLive, ['d', { since: now - t.stableMs + 1 }]]);
      assert.deepEqual(placeServers({ ...base, members: youngD }).release, [], 'd not live for stableMs yet');
      const mineOnly = new Set(preferring('a', withD.keys()));
      assert.deepEqual(placeServers({ ...base, owned: mineOnly }).release, [], 'servers preferring this instance stay');
    });
  });
});

describe('against nats-server', { skip: needs.skip }, () => {
  let dir: string;
  let removeDir: () => Promise<void>;
  let port: number;
  let nats: ServerProcess;
  const clients: NatsConnection[] = [];
  const client = async (): Promise<NatsConnection> => {
    const nc = await natsClient(port);
    clients.push(nc);
    return nc;
  };

  before(async () => {
    if (needs.skip) return;
    ({ dir, remove: removeDir } = await tempDir('cluster-lease'));
    port = await freePort();
    nats = await startNats(port, `${dir}/store`);
  });

  after(async () => {
    if (needs.skip) return;
    for (const nc of clients) await nc.close().catch(() => {});
    await nats.stop();
    await removeDir();
  });

  describe('Lease', () => {
    test('acquire, exclusion, renew, loss to another holder, growing epochs', async () => {
      const kv = await bucket(await client(), 'lease-basics', 6_000);
      const key = serverKey('cms.a');
      const a = await Lease.acquire(kv, 'cms.a', key, 'inst-a', 6_000, realTime);
      assert.ok(a);
      assert.equal(a.epoch, (await kv.get(key))!.revision, 'the epoch is the revision written');
      assert.deepEqual((await kv.get(key))!.json(), { owner: 'inst-a', server: 'cms.a' });
      assert.equal(await Lease.acquire(kv, 'cms.a', key, 'inst-b', 6_000, realTime), undefined, 'held: nobody else gets it');
      assert.equal(await a.renew(), 'renewed');
      assert.equal(await a.renew(), 'renewed');
      assert.ok(a.valid());
      assert.ok(a.remaining() > 6_000 - leaseMargin(6_000) - 1_000);

      // The key goes (as if expired) and another instance takes it: a's next renewal is refused.
      await kv.delete(key);
      const b = await Lease.acquire(kv, 'cms.a', key, 'inst-b', 6_000, realTime);
      assert.ok(b);
      assert.ok(b.epoch > a.epoch, 'a later holder has a higher epoch');
      assert.equal(await a.renew(), 'lost');
      assert.equal(a.valid(), false);
      assert.equal(await a.renew(), 'lost', 'lost for good');
      assert.equal(await b.renew(), 'renewed', 'the loser’s attempts did not disturb the holder');

      await b.release();
      assert.equal(b.valid(), false);
      const c = await Lease.acquire(kv, 'cms.a', key, 'inst-c', 6_000, realTime);
      assert.ok(c, 'released: another instance takes it at once');
      assert.ok(c.epoch > b.epoch);
      assert.equal(await b.renew(), 'lost');
    });

    test('the local deadline: valid() ends at sentAt + leaseMs − margin, NATS or not', async () => {
      const kv = await bucket(await client(), 'lease-deadline', 6_000);
      const clock = handClock(1_000);
      const leaseMs = 6_000;
      const lease = await Lease.acquire(kv, 'cms-a', serverKey('cms-a'), 'inst-a', leaseMs, clock);
      assert.ok(lease);
      const deadline = 1_000 + leaseMs - leaseMargin(leaseMs);
      assert.equal(leaseMargin(leaseMs), 1_000);
      clock.t = deadline - 1;
      assert.ok(lease.valid());
      assert.equal(lease.remaining(), 1);
      clock.t = deadline;
      assert.equal(lease.valid(), false, 'the deadline passed');
      assert.ok(await kv.get(serverKey('cms-a')), 'while the key is still there in NATS');

      const again = await Lease.acquire(kv, 'cms-b', serverKey('cms-b'), 'inst-a', leaseMs, clock);
      assert.ok(again);
      clock.t += 3_000;
      assert.equal(await again.renew(), 'renewed');
      assert.equal(again.remaining(), leaseMs - leaseMargin(leaseMs), 'the deadline moves to the renewal’s sending time');

      // The clock passes the deadline while the renewal is on its way: its answer comes too late.
      const renewing = again.renew();
      clock.t += leaseMs;
      assert.equal(await renewing, 'lost');
      assert.equal(again.valid(), false);
    });

    test('an unrenewed key expires with the bucket TTL and another instance takes it', async () => {
      const ttl = 1_500;
      const kv = await bucket(await client(), 'lease-ttl', ttl);
      const key = serverKey('cms-a');
      const a = await Lease.acquire(kv, 'cms-a', key, 'inst-a', ttl, realTime);
      assert.ok(a);
      const start = performance.now();
      assert.equal(await Lease.acquire(kv, 'cms-a', key, 'inst-b', ttl, realTime), undefined);
      const b = await waitFor(() => Lease.acquire(kv, 'cms-a', key, 'inst-b', ttl, realTime), 'the key expired', 10_000);
      const took = performance.now() - start;
      assert.ok(took >= ttl - 100, `not before the TTL (${Math.round(took)} ms)`);
      assert.ok(b.epoch > a.epoch);
      assert.equal(await a.renew(), 'lost');
      console.log(`lease: a key with a ${ttl} ms TTL was taken over ${Math.round(took)} ms after it was written`);
    });
  });

  describe('Membership', () => {
    const leaseMs = 1_500;

    test('members see each other; stop() leaves at once; a killed one drops out after about a lease', async () => {
      const logs = recordLogs('debug');
      const make = async (instance: string): Promise<{ m: Membership; nc: NatsConnection }> => {
        const nc = await client();
        const m = new Membership({ nc, kv: await bucket(nc, 'members-basic', leaseMs), instance, leaseMs, logger: logs.logger.child({ instance }) });
        return { m, nc };
      };
      const a = await make('inst-a');
      const b = await make('inst-b');
      const c = await make('inst-c');
      assert.equal(a.m.members().size, 0, 'nothing before start');
      const t0 = performance.now();
      await a.m.start();
      assert.deepEqual([...a.m.members().keys()], ['inst-a'], 'itself at once');
      await b.m.start();
      await c.m.start();
      const all = ['inst-a', 'inst-b', 'inst-c'];
      await waitFor(() => [a, b, c].every(({ m }) => all.every((i) => m.members().has(i))), 'all see all', 5_000);
      const sinceB = a.m.members().get('inst-b')!.since;
      assert.ok(sinceB >= t0 && sinceB <= performance.now());
      await holdsFor(() => a.m.members().get('inst-b')?.since === sinceB, leaseMs + 600, 'b stays live, since unchanged, across refreshes');

      const stopped = performance.now();
      await b.m.stop();
      await waitFor(() => !a.m.members().has('inst-b') && !c.m.members().has('inst-b'), 'b gone', 1_000);
      const leaveMs = performance.now() - stopped;

      // c dies without a word: its connection goes, its record is neither refreshed nor deleted.
      await c.nc.close();
      const killed = performance.now();
      await waitFor(() => !a.m.members().has('inst-c'), 'c dropped', 5_000, 10);
      const dropMs = performance.now() - killed;
      // Its last refresh was at most a third of a lease before the kill.
      assert.ok(dropMs >= leaseMs + 500 - leaseMs / 3 - 100 && dropMs <= leaseMs + 500 + 300, `c dropped after ${Math.round(dropMs)} ms`);
      assert.equal(logs.count('cannot refresh the member record'), 1, 'a failing refresh is logged once');
      await c.m.stop();
      assert.deepEqual([...a.m.members().keys()], ['inst-a']);
      await a.m.stop();
      assert.equal(a.m.members().size, 0);
      console.log(`membership: a stopped member left in ${Math.round(leaveMs)} ms, a killed one was dropped after ${Math.round(dropMs)} ms (lease ${leaseMs} ms)`);
    });
  });

  describe('LeaseWatch', () => {
    test('sees acquire, renew, release; owner() lapses leaseMs + 500 ms after the last renewal', async () => {
      const leaseMs = 6_000;
      const logs = recordLogs('debug');
      const nc = await client();
      const kv = await bucket(nc, 'leases-watch', leaseMs);
      let t = 0;
      const watch = new LeaseWatch({ nc, kv, leaseMs, logger: logs.logger, now: () => t });
      const holderKv = await bucket(await client(), 'leases-watch', leaseMs);
      const early = await Lease.acquire(holderKv, 'cms.early', serverKey('cms.early'), 'inst-z', leaseMs, realTime);
      assert.ok(early);
      await watch.start();
      await waitFor(() => watch.owner('cms.early') === 'inst-z', 'a lease taken before the watch started is seen');

      t = 100;
      const lease = await Lease.acquire(holderKv, 'cms.a', serverKey('cms.a'), 'inst-a', leaseMs, realTime);
      assert.ok(lease);
      await waitFor(() => watch.owner('cms.a') === 'inst-a', 'acquire seen');
      assert.deepEqual(watch.view().get('cms.a'), { held: true, owner: 'inst-a', seenAt: 100 });

      t = 2_000;
      assert.equal(await lease.renew(), 'renewed');
      await waitFor(() => {
        const view = watch.view().get('cms.a');
        return view?.held && view.seenAt === 2_000;
      }, 'renewal seen');

      t = 2_000 + leaseMs + 500;
      assert.equal(watch.owner('cms.a'), 'inst-a', 'still believed at leaseMs + 500 ms');
      t += 1;
      assert.equal(watch.owner('cms.a'), undefined, 'not renewed for longer than leaseMs + 500 ms');
      assert.equal(watch.view().get('cms.a')?.held, true, 'the view keeps what was seen; placement judges its age');

      t = 20_000;
      await lease.release();
      await waitFor(() => watch.view().get('cms.a')?.held === false, 'release seen');
      assert.deepEqual(watch.view().get('cms.a'), { held: false, since: 20_000 });
      assert.equal(watch.owner('cms.a'), undefined);

      await holderKv.put('not.a=server', '{}');
      await waitFor(() => logs.count('names no server') === 1, 'a stray key ignored');
      assert.deepEqual([...watch.view().keys()].sort(), ['cms.a', 'cms.early']);
      watch.stop();
    });

    test('real time: owner() goes undefined about leaseMs + 500 ms after renewals stop', async () => {
      const leaseMs = 1_500;
      const nc = await client();
      const kv = await bucket(nc, 'leases-lapse', leaseMs);
      const watch = new LeaseWatch({ nc, kv, leaseMs, logger: recordLogs('silent').logger });
      await watch.start();
      const lease = await Lease.acquire(kv, 'cms-a', serverKey('cms-a'), 'inst-a', leaseMs, realTime);
      assert.ok(lease);
      await waitFor(() => watch.owner('cms-a') === 'inst-a', 'acquire seen');
      assert.equal(await lease.renew(), 'renewed');
      const renewed = performance.now();
      const lapsed = await waitFor(() => watch.owner('cms-a') === undefined && performance.now(), 'owner lapsed', 5_000, 10);
      const lapseMs = lapsed - renewed;
      assert.ok(lapseMs >= leaseMs + 500 - 50 && lapseMs <= leaseMs + 500 + 300, `lapsed after ${Math.round(lapseMs)} ms`);
      watch.stop();
    });
  });
});

describe('across a nats-server kill and restart', { skip: needs.skip }, () => {
  test('a renewal with NATS down answers "failed" within the lease, not never', async () => {
    const { dir, remove } = await tempDir('cluster-lease-down');
    const port = await freePort();
    const nats = await startNats(port, `${dir}/store`);
    const nc = await natsClient(port);
    try {
      const leaseMs = 3_000;
      const kv = await bucket(nc, 'lease-down', leaseMs);
      const lease = await Lease.acquire(kv, 'cms-a', serverKey('cms-a'), 'inst-a', leaseMs, realTime);
      assert.ok(lease);
      await nats.stop('SIGKILL');
      const sent = performance.now();
      assert.equal(await lease.renew(), 'failed');
      const tookMs = performance.now() - sent;
      assert.ok(tookMs <= leaseMs - leaseMargin(leaseMs) + 300, `answered after ${Math.round(tookMs)} ms`);
      await waitFor(() => !lease.valid(), 'the deadline passes', leaseMs);
      assert.equal(await lease.renew(), 'failed', 'still down: failed again, and promptly');
      console.log(`lease: a renewal with nats-server down failed after ${Math.round(tookMs)} ms (lease ${leaseMs} ms)`);
    } finally {
      await nc.close();
      await nats.stop();
      await remove();
    }
  });

  test('membership and the leases watch carry on after nats-server restarts on its store', async () => {
    const { dir, remove } = await tempDir('cluster-restart');
    const port = await freePort();
    const store = `${dir}/store`;
    let nats = await startNats(port, store);
    const leaseMs = 1_500;
    const logs = recordLogs('debug');
    const ncA = await natsClient(port);
    const ncB = await natsClient(port);
    const connections = [ncA, ncB];
    const memberships: Membership[] = [];
    let watch: LeaseWatch | undefined;
    try {
      const a = new Membership({ nc: ncA, kv: await bucket(ncA, 'members', leaseMs), instance: 'inst-a', leaseMs, logger: logs.logger.child({ instance: 'inst-a' }) });
      const b = new Membership({ nc: ncB, kv: await bucket(ncB, 'members', leaseMs), instance: 'inst-b', leaseMs, logger: logs.logger.child({ instance: 'inst-b' }) });
      memberships.push(a, b);
      await a.start();
      await b.start();
      await waitFor(() => a.members().has('inst-b') && b.members().has('inst-a'), 'a and b see each other');
      const leasesA = await bucket(ncA, 'leases', leaseMs);
      watch = new LeaseWatch({ nc: ncA, kv: leasesA, leaseMs, logger: logs.logger });
      await watch.start();
      // nats.js's own watch, with nothing of ours around it: does it survive the restart?
      const raw = await leasesA.watch({ key: '>' });
      const rawKeys: string[] = [];
      void (async () => {
        for await (const e of raw) rawKeys.push(`${e.operation} ${e.key}`);
      })();

      await nats.stop('SIGKILL');
      const down = performance.now();
      await waitFor(() => logs.count('cannot refresh the member record') === 2, 'both refreshes failing', 10_000);
      nats = await startNats(port, store);
      const restarted = performance.now();
      await waitFor(() => logs.count('member record refreshed again') === 2, 'both refreshing again', 15_000);
      const recoveredMs = performance.now() - restarted;

      // A newcomer after the restart is seen by both: their watches work.
      const ncC = await natsClient(port);
      connections.push(ncC);
      const c = new Membership({ nc: ncC, kv: await bucket(ncC, 'members', leaseMs), instance: 'inst-c', leaseMs, logger: logs.logger.child({ instance: 'inst-c' }) });
      memberships.push(c);
      await c.start();
      await waitFor(() => a.members().has('inst-c') && b.members().has('inst-c') && c.members().has('inst-a'), 'c seen by a and b, and sees a', 5_000);
      // And a and b keep seeing each other from fresh writes, well past the lease.
      await holdsFor(() => a.members().has('inst-b') && b.members().has('inst-a'), leaseMs + 1_000, 'a and b still see each other');

      const leasesC = await bucket(ncC, 'leases', leaseMs);
      const lease = await Lease.acquire(leasesC, 'cms.x', serverKey('cms.x'), 'inst-c', leaseMs, realTime);
      assert.ok(lease);
      await waitFor(() => watch!.owner('cms.x') === 'inst-c', 'the leases watch sees a lease taken after the restart', 5_000);
      await waitFor(() => rawKeys.includes(`PUT ${serverKey('cms.x')}`), 'nats.js’s own watch saw it too', 5_000);
      raw.stop();
      console.log(`restart: down ${Math.round(restarted - down)} ms, member refreshes back ${Math.round(recoveredMs)} ms after the restart`);
    } finally {
      watch?.stop();
      for (const m of memberships) await m.stop();
      for (const nc of connections) await nc.close().catch(() => {});
      await nats.stop();
      await remove();
    }
  });
});
