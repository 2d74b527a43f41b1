// The HTTP API's shapes, once: the control routes validate request bodies with these schemas,
// and the OpenAPI document (openapi.ts) is generated from them and from the response schemas
// below, so the description cannot drift from what the daemon checks. The response schemas
// are checked against the daemon's real answers by test/openapi.test.ts.
import { z } from 'zod';
import { EVENT_TYPES } from '../state/events.js';

const bool = () => z.boolean({ error: 'must be true or false' });
const text = (what: string) => z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` }).max(512, { error: 'must be at most 512 characters' });

const IMPORTANCE = 'must be a whole number ≥ 0 or null';

/** PATCH …/participants/{participantId} */
export const participantChangeSchema = z
  .strictObject({
    audioMuted: bool().describe('mute (true) or unmute the participant\'s audio').optional(),
    videoMuted: bool().describe('stop (true) or restart the participant\'s video').optional(),
    layout: text('a layout name').describe('the layout the participant sees (allEqual, speakerOnly, telepresence, …)').optional(),
    importance: z
      .union([z.int({ error: IMPORTANCE }).min(0, { error: IMPORTANCE }), z.null()], { error: IMPORTANCE })
      .describe('the participant\'s importance; null clears it')
      .optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { error: 'give at least one of audioMuted, videoMuted, layout, importance' });

/** POST …/participants */
export const dialOutSchema = z
  .strictObject({
    uri: z
      .string({ error: (issue) => (issue.input === undefined ? 'is required (the address to dial)' : 'must be a non-empty string (the address to dial)') })
      .min(1, { error: 'must be a non-empty string (the address to dial)' })
      .max(512, { error: 'must be at most 512 characters' })
      .describe('the address to dial: a SIP URI, a number, …'),
    name: text('a non-empty string').describe('the name shown for the new participant').optional(),
  });

/** PATCH /api/servers/{name}/calls/{callId} */
export const callChangeSchema = z
  .strictObject({
    locked: bool().describe('lock (true) or unlock the call').optional(),
    recording: bool().describe('start (true) or stop recording').optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { error: 'give at least one of locked, recording' });

/** The first problem of a body, in words naming the field (what a 400 says). */
export function describeBodyProblem(error: z.ZodError): string {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') return `unknown field "${issue.keys[0]}"`;
  const field = issue.path[0];
  return field === undefined ? issue.message : `field "${String(field)}" ${issue.message}`;
}

// ---- answers -----------------------------------------------------------------------------------

export const errorSchema = z
  .object({
    error: z.string().describe('what is wrong, in words'),
    code: z.string().nullable().optional().describe('the CMS\'s failureDetails code, when the CMS refused'),
  });

const iso = () => z.string().describe('ISO-8601 time');

const cmsHealthSchema = z
  .object({
    version: z.string().nullable(),
    uptimeSeconds: z.number().nullable(),
    callLegsActive: z.number().nullable(),
    alarms: z.array(z.object({ type: z.string(), since: iso(), failureReason: z.string().optional() })),
    checkedAt: iso().nullable(),
    lastError: z.string().nullable(),
  });

const cdrRegistrationSchema = z
  .object({
    state: z.enum(['pending', 'registered', 'refused', 'failing']),
    error: z.string().nullable(),
    receiverId: z.string().nullable(),
  });

export const serverSchema = z
  .object({
    name: z.string(),
    state: z.enum(['connecting', 'subscribing', 'live', 'backoff', 'stopped', 'standby']),
    since: iso(),
    connectedSince: iso().nullable(),
    lastError: z.string().nullable(),
    lastErrorKind: z.string().nullable(),
    lastErrorCode: z.string().nullable(),
    lastErrorAt: iso().nullable(),
    nextAttemptAt: iso().nullable(),
    counters: z
      .object({
        messagesReceived: z.number(),
        acksSent: z.number(),
        badFrames: z.number(),
        unknownIndexes: z.number(),
        lateUpdates: z.number(),
        unknownIds: z.number(),
        reconnects: z.number(),
        connectAttempts: z.number(),
      })
      .nullable(),
    owner: z.string().nullable().optional().describe('cluster mode: the instance following it'),
    cms: cmsHealthSchema.nullable(),
    cdrRegistration: cdrRegistrationSchema.nullable().optional().describe('with cdr.register: true'),
    host: z.string(),
    port: z.number(),
    calls: z.number(),
    eventsPerSecond: z.number(),
    restored: z.boolean(),
  });

/** Elements of the CMS (call and participant fields): whatever the CMS sends, kept as it sends it. */
const element = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const participantSchema = z.object({ id: z.string() }).catchall(element);

export const callSchema = z
  .object({ id: z.string(), roster: z.array(participantSchema) })
  .catchall(z.union([element, z.array(participantSchema)]));

export const meetingSchema = z
  .object({
    id: z.string().describe('the callCorrelator, or <server>:<callId> for a call without one'),
    name: z.string().nullable(),
    servers: z.array(z.string()),
    calls: z.array(z.object({ server: z.string(), callId: z.string() })),
    participants: z.array(z.object({ id: z.string(), server: z.string().describe('the bridge hosting them') }).catchall(element)),
  });

export const sinkSchema = z
  .object({
    name: z.string(),
    type: z.string(),
    state: z.string(),
    backlog: z.number(),
    delivered: z.number(),
    lastError: z.string().nullable(),
    full: z.boolean(),
  });

export const readinessSchema = z
  .object({ ready: z.boolean(), servers: z.array(z.object({ name: z.string(), state: z.string() })) });

export const eventSchema = z
  .object({
    id: z.string(),
    ts: iso(),
    type: z.string().describe(`one of ${EVENT_TYPES.join(', ')}, or cdr.<recordType> for a record type not listed`),
    server: z.string(),
    synthetic: z.literal(true).optional(),
  })
  .loose();

/** What the OpenAPI document names: request bodies (read as their input), and answers. */
export interface NamedSchema {
  id: string;
  description?: string;
}

export const REQUEST_SCHEMAS = z.registry<NamedSchema>();
REQUEST_SCHEMAS.add(participantChangeSchema, { id: 'ParticipantChange', description: 'any of these changes, at least one' });
REQUEST_SCHEMAS.add(dialOutSchema, { id: 'DialOut' });
REQUEST_SCHEMAS.add(callChangeSchema, { id: 'CallChange', description: 'any of these changes, at least one' });

export const ANSWER_SCHEMAS = z.registry<NamedSchema>();
ANSWER_SCHEMAS.add(errorSchema, { id: 'Error' });
ANSWER_SCHEMAS.add(cmsHealthSchema, { id: 'CmsHealth', description: 'the CMS\'s own health, read from its REST API' });
ANSWER_SCHEMAS.add(cdrRegistrationSchema, { id: 'CdrRegistration', description: 'our CDR receiver on the CMS (cdr.register: true)' });
ANSWER_SCHEMAS.add(serverSchema, { id: 'Server' });
ANSWER_SCHEMAS.add(participantSchema, { id: 'Participant', description: 'a roster entry: its id and the CMS\'s participant elements' });
ANSWER_SCHEMAS.add(callSchema, { id: 'Call', description: 'a live call: its id, the CMS\'s call elements and its roster' });
ANSWER_SCHEMAS.add(meetingSchema, { id: 'Meeting', description: 'a meeting across bridges (one callCorrelator)' });
ANSWER_SCHEMAS.add(sinkSchema, { id: 'Sink' });
ANSWER_SCHEMAS.add(readinessSchema, { id: 'Readiness' });
ANSWER_SCHEMAS.add(eventSchema, { id: 'Event', description: 'one event, as on stdout (README.md, "Events")' });
