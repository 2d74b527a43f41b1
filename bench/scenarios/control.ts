// Call control's round trip through the real daemon: an HTTP control request (mute or unmute a
// participant) → the daemon's REST client → the CMS accepts → the change comes back through the
// events feed → its line on the daemon's stdout. Two figures per request: until the route
// answered (the CMS accepted), and until the event's line was read from stdout. One request at
// a time, alternating mute and unmute, against the simulator over TLS.
import { waitFor, wallNow } from '../lib/clock.js';
import { startRealDaemon } from '../lib/daemon.js';
import { fmt, loadNow, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { SimGroup } from '../lib/sim-group.js';
import { percentile, round, sortedCopy } from '../lib/stats.js';

const TOKEN = 'bench-control-token-0123456789';

export const control: Benchmark = {
  name: 'control',
  title: 'Call control round trip: HTTP request → CMS accepts → event on stdout',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const requests = ctx.quick ? 100 : 400;
    const sim = await SimGroup.start({ servers: 1, calls: 1, participants: 1, label: 'simulator (control)' });
    const daemon = await startRealDaemon({ servers: sim.servers, label: 'daemon (control)', controlToken: TOKEN, stateDir: null });
    const accepted: number[] = [];
    const seen: number[] = [];
    try {
      await waitFor(async () => (await daemon.servers())[0]?.state === 'live', 'the server live', 60_000, 100);
      const server = sim.servers[0]!.name;
      const calls = (await (await fetch(`${daemon.url}/api/servers/${server}/calls`)).json()) as { id: string; roster: { id: string }[] }[];
      const callId = calls[0]!.id;
      const participantId = calls[0]!.roster[0]!.id;
      // The line that reports the change, by the value it must carry.
      let expecting: { muted: boolean; resolve: (at: number) => void } | undefined;
      daemon.stdout.listen((line, at) => {
        if (!expecting || !line.includes('"participant.updated"') || !line.includes(participantId)) return;
        if (line.includes(`"changes":{"audioMuted":${expecting.muted}}`)) expecting.resolve(at);
      });
      const url = `${daemon.url}/api/servers/${server}/calls/${callId}/participants/${participantId}`;
      for (let i = 0; i < requests + 10; i++) {
        const muted = i % 2 === 0;
        const arrived = new Promise<number>((resolve) => (expecting = { muted, resolve }));
        const start = wallNow();
        const response = await fetch(url, { method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ audioMuted: muted }) });
        await response.arrayBuffer();
        if (response.status !== 204) throw new Error(`control request answered ${response.status}`);
        const answered = wallNow();
        const line = await arrived;
        // The first ten warm the JIT and the connections.
        if (i >= 10) {
          accepted.push(answered - start);
          seen.push(line - start);
        }
      }
    } finally {
      daemon.stdout.listen(undefined);
      await daemon.proc.stop();
      await sim.stop();
    }
    const a = sortedCopy(accepted);
    const s = sortedCopy(seen);
    ctx.log(`  ${requests} requests (load ${loadNow()}): accepted p50 ${fmt.ms(percentile(a, 50))} p99 ${fmt.ms(percentile(a, 99))}; event on stdout p50 ${fmt.ms(percentile(s, 50))} p99 ${fmt.ms(percentile(s, 99))}`);
    const row = (figure: string, sorted: Float64Array, p: number) => ({ benchmark: 'control', figure, value: fmt.ms(percentile(sorted, p)), baseline: '', ratio: '', target: '', verdict: 'info' as const, runs: `${requests} requests` });
    return {
      data: {
        requests,
        acceptedMs: { p50: round(percentile(a, 50), 2), p99: round(percentile(a, 99), 2) },
        eventMs: { p50: round(percentile(s, 50), 2), p99: round(percentile(s, 99), 2) },
      },
      rows: [
        row('request → CMS accepted (route answers), p50', a, 50),
        row('request → CMS accepted (route answers), p99', a, 99),
        row('request → event line on stdout, p50', s, 50),
        row('request → event line on stdout, p99', s, 99),
      ],
    };
  },
};
