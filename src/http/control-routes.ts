// The control routes of the HTTP API: act on calls through each server's CMS REST client. They
// exist only when a control token is configured; every request needs `Authorization: Bearer
// <token>` (compared in constant time). Unknown servers, calls and participants are 404 from the
// daemon's own model, before anything reaches a CMS; a bad body is 400 naming the field; what a
// CMS refuses is passed on with its status and `{ error, code }`. The change itself reaches the
// model the normal way, as events from the feed. Every action is logged, never with a secret.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CmsApiError } from '../control/errors.js';
import type { CmsClient } from '../control/cms-client.js';
import type { Hub } from '../hub/index.js';
import type { z } from 'zod';
import { callChangeSchema, describeBodyProblem, dialOutSchema, participantChangeSchema } from './api-schemas.js';

const MAX_BODY_BYTES = 64 * 1024;
const PARTICIPANT = /^\/api\/servers\/([^/]+)\/calls\/([^/]+)\/participants(?:\/([^/]+))?$/;
const CALL = /^\/api\/servers\/([^/]+)\/calls\/([^/]+)$/;

type Send = (res: ServerResponse, status: number, body?: unknown) => void;

class BadRequest extends Error {}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** True when the request carries the token (equal-length digests compared in constant time). */
function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  return given !== '' && timingSafeEqual(digest(given), digest(token));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest('the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body is not a JSON object');
  return body as Record<string, unknown>;
}

/** The body as `schema` (api-schemas.ts) reads it, or a BadRequest naming the field. */
function parseBody<T>(schema: z.ZodType<T>, body: Record<string, unknown>): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new BadRequest(describeBodyProblem(result.error));
  return result.data;
}

/** Handles a control route; false when `path` is none (the caller goes on). */
export async function handleControl(hub: Hub, req: IncomingMessage, res: ServerResponse, path: string, token: string | undefined, send: Send): Promise<boolean> {
  const participant = PARTICIPANT.exec(path);
  const call = participant ? undefined : CALL.exec(path);
  if (!participant && !call) return false;
  const method = req.method ?? 'GET';
  const allowed = participant ? (participant[3] ? ['PATCH', 'DELETE'] : ['POST']) : ['PATCH', 'DELETE'];
  if (!allowed.includes(method)) {
    send(res, 405, { error: `${method} is not supported here (allowed: ${allowed.join(', ')})` });
    return true;
  }
  if (token === undefined) {
    send(res, 403, { error: 'call control is not configured (http.controlToken, controlTokenEnv or controlTokenFile)' });
    return true;
  }
  if (!authorized(req, token)) {
    send(res, 401, { error: 'a valid Authorization: Bearer <token> header is needed' });
    return true;
  }
  const match = (participant ?? call)!;
  const server = decodeURIComponent(match[1]!);
  const callId = decodeURIComponent(match[2]!);
  const participantId = participant?.[3] === undefined ? undefined : decodeURIComponent(participant[3]);
  const log = hub.logger.child({ server, call: callId, ...(participantId && { participant: participantId }) });
  const calls = hub.calls(server);
  // A bridge cannot change or drop a participant hosted on another bridge of its cluster: act on that one.
  const host = participantId === undefined ? undefined : hub.participantHost(participantId);
  const actingOn = host !== undefined && host !== server ? host : server;
  const cms = hub.cms(actingOn);
  const known = calls?.find((c) => c.id === callId);
  if (!calls || !cms) return notFound(res, send, `no server named "${server}"`);
  if (!known) return notFound(res, send, `server "${server}" has no call "${callId}"`);
  if (participantId !== undefined && !known.roster.some((p) => p.id === participantId)) {
    return notFound(res, send, `call "${callId}" has no participant "${participantId}"`);
  }
  let action = `${method} ${participant ? 'participant' : 'call'}`;
  if (actingOn !== server) log.info({ host: actingOn }, `control: the participant is hosted on ${actingOn}; acting there`);
  try {
    const body = method === 'DELETE' ? {} : await readJson(req);
    const result = await act(cms, method, callId, participantId, participant !== null, body, (name) => (action = name));
    log.info({ action, outcome: 'accepted' }, `control: ${action} accepted by the CMS`);
    if (result === undefined) send(res, 204);
    else send(res, 201, result);
  } catch (error) {
    if (error instanceof BadRequest) {
      log.info({ action, outcome: 'bad request' }, `control: ${action} refused: ${error.message}`);
      send(res, 400, { error: error.message });
    } else if (error instanceof CmsApiError) {
      log.warn({ action, outcome: 'refused by the CMS', status: error.status, code: error.code }, `control: ${error.message}`);
      send(res, error.status === 0 ? 502 : error.status, { error: error.message, code: error.code ?? null });
    } else throw error;
  }
  return true;
}

function notFound(res: ServerResponse, send: Send, message: string): true {
  send(res, 404, { error: message });
  return true;
}

/** Does what the route and body ask; resolves with the 201 body of a dial-out, else undefined. */
async function act(
  cms: CmsClient,
  method: string,
  callId: string,
  participantId: string | undefined,
  onParticipants: boolean,
  body: Record<string, unknown>,
  named: (action: string) => void,
): Promise<{ participantId: string } | undefined> {
  if (onParticipants && participantId === undefined) {
    named('dial out');
    const { uri, name } = parseBody(dialOutSchema, body);
    return { participantId: await cms.dial(callId, uri, name) };
  }
  if (participantId !== undefined) {
    if (method === 'DELETE') {
      named('drop participant');
      await cms.drop(participantId);
      return undefined;
    }
    const change = parseBody(participantChangeSchema, body);
    named(`change participant (${Object.keys(change).join(', ')})`);
    if (change.audioMuted !== undefined) await cms.muteAudio(participantId, change.audioMuted);
    if (change.videoMuted !== undefined) await cms.muteVideo(participantId, change.videoMuted);
    if (change.layout !== undefined) await cms.setLayout(participantId, change.layout);
    if (change.importance !== undefined) await cms.setImportance(participantId, change.importance);
    return undefined;
  }
  if (method === 'DELETE') {
    named('end call');
    await cms.end(callId);
    return undefined;
  }
  const change = parseBody(callChangeSchema, body);
  named(`change call (${Object.keys(change).join(', ')})`);
  if (change.locked !== undefined) await cms.lock(callId, change.locked);
  if (change.recording !== undefined) await cms.record(callId, change.recording);
  return undefined;
}
