// A handlers module named in the config, as users write business logic: the context reaches
// nested async work, a follow-up runs after the ack, and a failing or slow handler is isolated.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startSimulator, type SimulatedServer } from '../src/simulator/index.js';
import { freePort, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { waitFor } from './helpers/wait.js';

const LIBRARY = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

/** What the handlers module reports back, with the simulator's ack count at that moment. */
interface Report {
  kind: string;
  server?: string;
  expected?: string;
  participantId?: string;
  acksReceived: number;
  messagesSent: number;
}

describe('handlers module', () => {
  let sim: SimulatedServer;
  let daemon: Daemon;
  let reporter: Server;
  const reports: Report[] = [];
  let api: string;

  before(async () => {
    sim = await startSimulator({ password: 'handlers-pw-1' });
    reporter = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        const stats = sim.stats();
        reports.push({ ...JSON.parse(body), acksReceived: stats.acksReceived, messagesSent: stats.messagesSent });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => reporter.listen(0, '127.0.0.1', r));
    const reportUrl = `http://127.0.0.1:${(reporter.address() as { port: number }).port}/`;
    const dir = tempDir();
    writeFileSync(
      join(dir, 'handlers.mjs'),
      `import { currentContext } from ${JSON.stringify(LIBRARY)};
const report = (body) => fetch(${JSON.stringify(reportUrl)}, { method: 'POST', body: JSON.stringify(body) });
export default function register(hub) {
  hub.on('participant.joined', async (event, context) => {
    await report({ kind: 'handler', participantId: event.participantId });
    // Work started by the handler, several hops away, still knows its server.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setImmediate(() => {
      Promise.resolve().then(() => report({ kind: 'nested', server: currentContext()?.server, expected: context.server })).then(resolve);
    }));
    return () => report({ kind: 'followup', server: currentContext()?.server, participantId: event.participantId });
  });
  hub.on('call.started', async (event) => {
    if (event.call.name === 'boom') throw new Error('handler exploded on purpose');
    if (event.call.name === 'slow') await new Promise(() => {}); // never finishes: only the handler timeout moves on
  });
  hub.on('call.ended', () => report({ kind: 'ended' }));
}
`,
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const file = writeConfig(dir, {
      servers: [serverEntry('cms-h', sim)],
      handlers: './handlers.mjs',
      dispatch: { ackAfterHandlers: true, handlerTimeoutMs: 300 },
      http: { port },
    });
    daemon = startDaemon(['run', '--config', file]);
    await daemon.waitForEvent((e) => e.type === 'server.connected', 'connected');
  });

  after(async () => {
    await daemon?.stop();
    await sim?.close();
    await new Promise((r) => reporter?.close(r));
  });

  it('gives nested async work the handler context, and runs the follow-up after the ack', async () => {
    const callId = sim.world.createCall({ name: 'Handled' });
    await daemon.waitForEvent((e) => e.type === 'call.started' && e.callId === callId, 'call started');
    await sim.idle();
    const pid = sim.world.addParticipant(callId, { name: 'Dee', uri: 'dee@example.com', state: 'connected', direction: 'incoming' });
    const followUp = await waitFor(() => reports.find((r) => r.kind === 'followup' && r.participantId === pid), 'the follow-up');
    const handler = reports.find((r) => r.kind === 'handler' && r.participantId === pid)!;
    const nested = reports.find((r) => r.kind === 'nested')!;
    assert.equal(nested.server, 'cms-h');
    assert.equal(nested.server, nested.expected);
    assert.equal(followUp.server, 'cms-h', 'the follow-up runs in the same context');
    // Acks wait for handlers here (ackAfterHandlers): the roster message is unacked while the
    // handler runs, and acked by the time the follow-up runs.
    assert.equal(handler.acksReceived, handler.messagesSent - 1, 'handler ran before the ack');
    // (The server may already have sent its next message, so compare with the handler's message.)
    assert.ok(followUp.acksReceived >= handler.messagesSent, 'follow-up ran after the ack');
  });

  it('isolates a throwing handler and a slow one: logged, counted, the feed goes on', async () => {
    const boom = sim.world.createCall({ name: 'boom' });
    const slow = sim.world.createCall({ name: 'slow' });
    const after = sim.world.createCall({ name: 'after' });
    await daemon.waitForEvent((e) => e.type === 'call.started' && e.callId === after, 'the call after the bad handlers');
    sim.world.endCall(boom);
    await waitFor(() => reports.some((r) => r.kind === 'ended'), 'handlers still running');
    assert.match(daemon.stderr(), /handler exploded on purpose/);
    assert.match(daemon.stderr(), /handler timed out/);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /cms_events_handler_errors_total\{server="cms-h",kind="error"\} 1/);
    assert.match(metrics, /cms_events_handler_errors_total\{server="cms-h",kind="timeout"\} 1/);
    assert.match(metrics, /cms_events_handler_duration_seconds_count\{type="call.started"\} [1-9]/);
    assert.ok(slow);
    assert.deepEqual(sim.violations(), []);
  });
});
