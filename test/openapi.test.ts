// The OpenAPI document (GET /api/openapi.json) against a well-kept validator of OpenAPI 3.1, and
// against the daemon itself: every documented read route is called on a running daemon (a
// simulated server with a call, a participant and a meeting; call control and the CDR receiver
// on) and each answer is checked against the schema the document gives for its status; a control
// route's success and refusal too. The schemas are generated from the ones the daemon validates
// with (src/http/api-schemas.ts), so a change to an answer that the document does not follow fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { freePort, serverEntry, startDaemon, tempDir, writeConfig } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { openEventStream } from './helpers/sse.js';
import { waitFor } from './helpers/wait.js';

type Json = Record<string, any>;
const VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
const BASE = 'https://cms-events.test/openapi.json';
const CONTROL_TOKEN = 'openapi-control-token-0123456789';

/** The document's local references made absolute, so that any part of it compiles on its own. */
const absolute = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(absolute)
    : value !== null && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${BASE}${v}` : absolute(v)]))
      : value;

test('the OpenAPI document validates, and every read route answers as it says', { timeout: 120_000 }, async () => {
  const sim = await simulator({ name: 'openapi' });
  const callId = sim.world.createCall({ name: 'Described', callCorrelator: 'c0rre1at0r-openapi' });
  const ann = sim.world.addParticipant(callId, { name: 'Ann', state: 'connected', uri: 'ann@example.com' });
  const dir = tempDir('cms-events-openapi-');
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const config = writeConfig(dir, {
    servers: [serverEntry('cms-o', sim)],
    http: { host: '127.0.0.1', port, controlToken: CONTROL_TOKEN },
    cdr: { listen: { host: '127.0.0.1', port: await freePort() }, token: 'openapi-cdr-token-0123456789', register: true },
    health: { intervalSeconds: 1 },
    stateDir: `${dir}/state`,
  });
  const daemon = startDaemon(['run', '--config', config]);
  try {
    await daemon.waitForEvent((e) => e.type === 'participant.joined', 'the participant', 15_000);
    const served = await fetch(`${api}/api/openapi.json`);
    assert.equal(served.status, 200);
    const document = (await served.json()) as Json;
    assert.equal(document.openapi, '3.1.0');
    assert.equal(document.info.version, VERSION);

    const validator = new Validator();
    const result = await validator.validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));

    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: BASE, components: absolute(document.components) });
    const check = (schema: Json, body: unknown, what: string) => {
      const validate = ajv.compile(absolute(schema) as Json);
      assert.ok(validate(body), `${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 1500)}`);
    };

    // Wait until health and registration have been read once, so that their shapes are checked too.
    await waitFor(async () => {
      const servers = (await (await fetch(`${api}/api/servers`)).json()) as Json[];
      return servers[0]?.cms?.checkedAt && servers[0]?.cdrRegistration?.state === 'registered';
    }, 'health and registration read', 15_000);
    const meetingId = ((await (await fetch(`${api}/api/meetings`)).json()) as Json[])[0]!.id as string;
    const values: Record<string, string> = { name: 'cms-o', id: meetingId, callId, participantId: ann };

    const called: string[] = [];
    for (const [route, item] of Object.entries(document.paths as Record<string, Json>)) {
      if (!item.get) continue;
      const url = api + route.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name]!));
      if (route === '/api/events') {
        const stream = await openEventStream(url);
        assert.equal(stream.response.status, 200);
        assert.match(stream.response.headers.get('content-type') ?? '', /^text\/event-stream/);
        sim.world.updateParticipant(callId, ann, { audioMuted: true });
        await waitFor(() => stream.events().length > 0, 'an event on the stream', 10_000);
        check(item.get.responses['200'].content['text/event-stream']['x-event-schema'], stream.events()[0], 'an SSE event');
        await stream.close();
        called.push(route);
        continue;
      }
      const response = await fetch(url);
      const documented = item.get.responses[String(response.status)];
      assert.ok(documented, `${route}: ${response.status} is documented`);
      const [type, media] = Object.entries(documented.content as Record<string, Json>)[0]!;
      assert.ok(response.headers.get('content-type')?.startsWith(type === 'text/plain' ? 'text/plain' : type), `${route}: ${type}`);
      if (type === 'application/json') check(media.schema, await response.json(), route);
      else await response.arrayBuffer();
      called.push(route);
    }
    assert.deepEqual(called.sort(), Object.entries(document.paths as Record<string, Json>).filter(([, item]) => item.get).map(([route]) => route).sort(), 'every documented read route called');

    // A 404 and the control routes' answers follow the document too.
    const missing = await fetch(`${api}/api/servers/nobody/calls`);
    assert.equal(missing.status, 404);
    check(document.paths['/api/servers/{name}/calls'].get.responses['404'].content['application/json'].schema, await missing.json(), '404');
    const control = (method: string, path: string, body: unknown) =>
      fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${CONTROL_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await control('PATCH', `/api/servers/cms-o/calls/${callId}/participants/${ann}`, { audioMuted: 'yes' });
    assert.equal(bad.status, 400);
    check(document.paths['/api/servers/{name}/calls/{callId}/participants/{participantId}'].patch.responses['400'].content['application/json'].schema, await bad.json(), 'a 400');
    const dialled = await control('POST', `/api/servers/cms-o/calls/${callId}/participants`, { uri: 'bob@example.com' });
    assert.equal(dialled.status, 201);
    check(document.paths['/api/servers/{name}/calls/{callId}/participants'].post.responses['201'].content['application/json'].schema, await dialled.json(), 'a dial-out');
    // The request schemas are the ones the route validates with: what they refuse, the route refuses.
    const requestSchema = ajv.compile(absolute(document.components.schemas.ParticipantChange) as Json);
    assert.equal(requestSchema({ audioMuted: 'yes' }), false);
    assert.equal(requestSchema({ audioMuted: true }), true);
  } finally {
    assert.equal((await daemon.stop()).code, 0);
  }
});
