// CDRs reach library users like every other event: `hub.on('cdr.callLegEnd', …)` with the
// server's context, taps and the SSE stream; the simulated CMS posts to the hub's receiver.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttpServer } from '../src/http/server.js';
import { createHub, createLogger, currentContext, type CmsEvent } from '../src/index.js';
import { serverEntry, tempDir } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { openEventStream } from './helpers/sse.js';
import { waitFor } from './helpers/wait.js';

test('handlers, taps and SSE get the cdr.* events', async () => {
  const sim = await simulator({ name: 'cdr-lib' });
  const token = 'library-cdr-token-0123456789';
  const hub = createHub(
    { servers: [serverEntry('cms-lib', sim)], sinks: [], stateDir: tempDir('cms-events-cdr-lib-'), cdr: { listen: { host: '127.0.0.1', port: 0 }, token } },
    { logger: createLogger({ level: 'silent' }) },
  );
  const handled: Array<{ event: CmsEvent; server: string | undefined }> = [];
  hub.on('cdr.callLegEnd', (event) => void handled.push({ event, server: currentContext()?.server }));
  const tapped: string[] = [];
  hub.tap((event) => void tapped.push(event.type));
  await hub.start();
  const http = await startHttpServer(hub, { port: 0 });
  const stream = await openEventStream(`${http.url}/api/events`);
  try {
    sim.cdr.addReceiver(`${hub.cdrListenUrl}/cdr/cms-lib?token=${token}`);
    await waitFor(() => tapped.includes('server.connected'), 'the feed live');
    const callId = sim.world.createCall({ name: 'Library CDRs' });
    const ann = sim.world.addParticipant(callId, { name: 'Ann', state: 'connected' });
    await waitFor(() => tapped.includes('cdr.callLegUpdate'), 'Ann in the call');
    sim.world.removeParticipant(callId, ann);
    await waitFor(() => handled.length === 1, 'the handler called for the leg end');
    const [{ event, server }] = handled as [{ event: CmsEvent; server: string | undefined }];
    assert.equal(server, 'cms-lib', 'currentContext() is the server\'s');
    assert.ok(event.type === 'cdr.callLegEnd');
    assert.deepEqual([event.participantId, event.callId], [ann, callId]);
    await waitFor(() => stream.events().some((e) => e.type === 'cdr.callLegEnd'), 'the leg end on the SSE stream');
    assert.ok(stream.events().some((e) => e.type === 'cdr.callStart'));
  } finally {
    await stream.close();
    await http.close();
    await hub.stop();
  }
});
