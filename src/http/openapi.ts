// The OpenAPI 3.1 description of the whole HTTP API, served at GET /api/openapi.json. Every schema
// in it is generated from the zod schemas the daemon itself uses: the request bodies the control
// routes validate and the answers they give (api-schemas.ts), and the config file's schema
// (hub/config-schema.ts, shown as `Config`). Only the list of routes is written here; nothing can
// describe a body the daemon does not check. test/openapi.test.ts validates the document and checks
// every read route's real answer against it.
import { z } from 'zod';
import { configSchema } from '../hub/config-schema.js';
import { ANSWER_SCHEMAS, REQUEST_SCHEMAS, type NamedSchema } from './api-schemas.js';

type Json = Record<string, unknown>;

/** The registry's schemas as OpenAPI components (`$ref: #/components/schemas/<id>`). */
function components(registry: z.core.$ZodRegistry<NamedSchema>, io: 'input' | 'output'): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, target: 'draft-2020-12', io, unrepresentable: 'any' }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    // Components are not documents of their own: no $schema, and no fragment-only $id.
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

const ref = (id: string): Json => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const error = (description: string): Json => json(ref('Error'), description);
const list = (id: string): Json => ({ type: 'array', items: ref(id) });

const pathParameter = (name: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const SERVER = pathParameter('name', 'the server\'s configured name');
const CALL = pathParameter('callId', 'the call\'s id (as in the events)');
const PARTICIPANT = pathParameter('participantId', 'the participant\'s id (as in the events)');

/** What every control route may answer besides its success. */
const CONTROL_ERRORS: Json = {
  '400': error('a bad body: names the field'),
  '401': error('a missing or wrong Authorization: Bearer token'),
  '403': error('call control is not configured (http.controlToken)'),
  '404': error('no such server, call or participant in the daemon\'s model'),
  '502': error('the CMS could not be reached'),
  default: error('what the CMS refused, with its status and its failureDetails code'),
};

const control = (summary: string, success: Json, body?: string): Json => ({
  summary,
  tags: ['call control'],
  security: [{ controlToken: [] }],
  ...(body && { requestBody: { required: true, content: { 'application/json': { schema: ref(body) } } } }),
  responses: { ...success, ...CONTROL_ERRORS },
});

export function openApiDocument(version: string): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'cms-events',
      version,
      description:
        'The admin API of cms-events, which follows the Events feed of Cisco Meeting Servers: health, readiness, metrics, the servers, their calls and the meetings across bridges, the event stream, call control, and the CDR receiver (on its own listener).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: 'http://127.0.0.1:8080', description: 'http.host and http.port of the config' }],
    tags: [
      { name: 'health', description: 'for load balancers and monitoring' },
      { name: 'model', description: 'what the daemon knows now' },
      { name: 'events', description: 'the live event stream' },
      { name: 'call control', description: 'only with http.controlToken configured' },
      { name: 'cdr', description: 'the CDR receiver, on cdr.listen' },
    ],
    paths: {
      '/': { get: { summary: 'the live dashboard', tags: ['model'], responses: { '200': { description: 'the dashboard\'s page', content: { 'text/html': { schema: { type: 'string' } } } } } } },
      '/healthz': { get: { summary: 'the process runs', tags: ['health'], responses: { '200': json({ type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] }, 'always, while the process runs') } } },
      '/readyz': {
        get: {
          summary: 'every server live (cluster mode: every server this instance owns live, and every server owned)',
          tags: ['health'],
          responses: { '200': json(ref('Readiness'), 'ready'), '503': json(ref('Readiness'), 'not ready: the states say why') },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', tags: ['health'], responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/api/servers': { get: { summary: 'every configured server with its state and health', tags: ['model'], responses: { '200': json(list('Server'), 'the servers') } } },
      '/api/servers/{name}/calls': {
        get: { summary: 'a server\'s live calls and their rosters', tags: ['model'], parameters: [SERVER], responses: { '200': json(list('Call'), 'its calls'), '404': error('no such server') } },
      },
      '/api/meetings': { get: { summary: 'the meetings across bridges, each participant once', tags: ['model'], responses: { '200': json(list('Meeting'), 'the meetings') } } },
      '/api/meetings/{id}': {
        get: {
          summary: 'one meeting',
          tags: ['model'],
          parameters: [pathParameter('id', 'the meeting\'s id: its callCorrelator, or <server>:<callId>')],
          responses: { '200': json(ref('Meeting'), 'the meeting'), '404': error('no such meeting') },
        },
      },
      '/api/sinks': { get: { summary: 'each sink\'s state and backlog', tags: ['model'], responses: { '200': json(list('Sink'), 'the sinks') } } },
      '/api/control': {
        get: {
          summary: 'whether call control is on (never the token)',
          tags: ['call control'],
          responses: { '200': json({ type: 'object', properties: { enabled: { type: 'boolean' } }, required: ['enabled'] }, 'on or off') },
        },
      },
      '/api/events': {
        get: {
          summary: 'the events as Server-Sent Events',
          description: 'Each message: `id:` the event id, `data:` the event as JSON (components/schemas/Event, also given as x-event-schema). Comment lines keep idle connections open.',
          tags: ['events'],
          parameters: [{ name: 'server', in: 'query', required: false, description: 'only this server\'s events', schema: { type: 'string' } }],
          responses: { '200': { description: 'an endless stream', content: { 'text/event-stream': { schema: { type: 'string' }, 'x-event-schema': ref('Event') } } } },
        },
      },
      '/api/openapi.json': { get: { summary: 'this document', tags: ['model'], responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1') } } },
      '/api/servers/{name}/calls/{callId}': {
        parameters: [SERVER, CALL],
        patch: control('lock or unlock the call, start or stop recording', { '204': { description: 'the CMS accepted it; the change arrives as events' } }, 'CallChange'),
        delete: control('end the call for everyone', { '204': { description: 'the CMS accepted it' } }),
      },
      '/api/servers/{name}/calls/{callId}/participants': {
        parameters: [SERVER, CALL],
        post: control(
          'dial a new participant into the call',
          { '201': json({ type: 'object', properties: { participantId: { type: 'string' } }, required: ['participantId'] }, 'dialled; the participant arrives as events') },
          'DialOut',
        ),
      },
      '/api/servers/{name}/calls/{callId}/participants/{participantId}': {
        parameters: [SERVER, CALL, PARTICIPANT],
        patch: control('mute or unmute audio or video, set the layout or the importance', { '204': { description: 'the CMS accepted it' } }, 'ParticipantChange'),
        delete: control('drop the participant (every call leg)', { '204': { description: 'the CMS accepted it' } }),
      },
      '/cdr/{server}': {
        servers: [{ url: '{publicUrl}', description: 'the CDR receiver: cdr.listen, reached as cdr.publicUrl', variables: { publicUrl: { default: 'http://127.0.0.1:8444' } } }],
        post: {
          summary: 'a CMS posts its CDRs',
          description: 'The body as a CMS sends it: `<records session>` with one or more `<record>`. Answered 200 once the body is on disk; the records become cdr.* events.',
          tags: ['cdr'],
          parameters: [
            { name: 'server', in: 'path', required: true, description: 'the server\'s configured name', schema: { type: 'string' } },
            { name: 'token', in: 'query', required: true, description: 'the receiver\'s token (cdr.token)', schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: { 'text/xml': { schema: { type: 'string' } }, 'application/xml': { schema: { type: 'string' } } } },
          responses: {
            '200': { description: 'stored (or, not being a CDR document, kept aside): do not send it again' },
            '403': { description: 'a wrong or missing token; nothing stored' },
            '404': { description: 'no such server; nothing stored' },
            '503': { description: 'not now (the intake is full, or another instance follows this server): send it again later', headers: { 'Retry-After': { schema: { type: 'integer' } } } },
          },
        },
      },
    },
    components: {
      schemas: {
        ...components(REQUEST_SCHEMAS, 'input'),
        ...components(ANSWER_SCHEMAS, 'output'),
        Config: configComponent(),
      },
      securitySchemes: { controlToken: { type: 'http', scheme: 'bearer', description: 'http.controlToken' } },
    },
  };
}

/** The config file's schema, as a reader writes it (defaults may be left out). */
function configComponent(): Json {
  const schema = z.toJSONSchema(configSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json;
  delete schema.$schema;
  return { ...schema, description: 'the config file (YAML or JSON) of `cms-events run --config`' };
}
