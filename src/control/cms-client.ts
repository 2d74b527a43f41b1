// One CMS's REST API (`/api/v1`), for acting on calls: the same host, port, credentials and TLS
// configuration as the events feed (the socket comes from the transport's openSocket, so the
// CA, the pin and the insecure switch apply to both alike), keep-alive connections through
// undici, Basic auth on every request, form-encoded parameters, XML answers read with a parser.
// A participant's audio, video and layout live on its call legs, whose ids differ from the
// participant's: the legs are looked up first, then each is changed.
import { Pool } from 'undici';
import { Backoff } from '../backoff.js';
import { realClock, sleep, type Clock } from '../clock.js';
import { CONTROL } from '../defaults.js';
import { Secrets } from '../secrets.js';
import type { ServerTarget } from '../session/types.js';
import { connectionFactory, createTlsConfig } from '../transport/index.js';
import type { ListedAlarm } from '../state/server-alarms.js';
import { CmsApiError, describeRefusal } from './errors.js';
import { readChildText, readFailure, readIds, readItems, readLeaves } from './xml.js';

export type Params = Record<string, string | number | boolean | null>;

export interface CmsAnswer {
  status: number;
  /** The created object's path (POST), from the Location header. */
  location: string | undefined;
  body: string;
}

/** One entry of GET /system/cdrReceivers. */
export interface CdrReceiverEntry {
  id: string;
  uri: string;
}

/** What GET /system/status says, as the daemon uses it (null where the CMS did not say). */
export interface CmsStatus {
  version: string | null;
  uptimeSeconds: number | null;
  callLegsActive: number | null;
}

export interface CmsClientOptions {
  target: ServerTarget;
  timeoutMs?: number;
  clock?: Clock;
  /** Injected for tests: [0,1) random source for the 503 backoff. */
  random?: () => number;
}

export class CmsClient {
  readonly server: string;
  readonly #pool: Pool;
  readonly #authorization: string;
  readonly #secrets: Secrets;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #random: (() => number) | undefined;

  constructor(options: CmsClientOptions) {
    const { target } = options;
    this.server = target.name;
    const tls = createTlsConfig(target);
    const where = `REST API of ${target.host}:${target.port}`;
    this.#secrets = new Secrets([target.password, Buffer.from(`${target.username}:${target.password}`).toString('base64')]);
    const origin = `${tls.secure ? 'https' : 'http'}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    this.#pool = new Pool(origin, {
      connect: connectionFactory(tls, { host: target.host, port: target.port, where, secrets: [target.password] }) as never,
      keepAliveTimeout: CONTROL.keepAliveMs,
    });
    this.#authorization = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
    this.#timeoutMs = options.timeoutMs ?? CONTROL.timeoutMs;
    this.#clock = options.clock ?? realClock;
    this.#random = options.random;
  }

  // ---- participants (their legs) ----------------------------------------------------------

  /**
   * Whether this bridge hosts the participant. In a cluster every bridge knows participants by
   * the same id, and answers with a `<callBridge>` (the host's id) only for those hosted elsewhere.
   */
  async hosts(participantId: string): Promise<boolean> {
    const answer = await this.request('GET', `/participants/${encodeURIComponent(participantId)}`, undefined, 'look up the participant');
    return readChildText(answer.body, 'participant', 'callBridge') === undefined;
  }

  /** The ids of a participant's call legs (one or more; usually not the participant's id). */
  async legsOf(participantId: string): Promise<string[]> {
    const legs: string[] = [];
    for (let offset = 0; ; ) {
      const answer = await this.request('GET', `/participants/${encodeURIComponent(participantId)}/callLegs`, { offset }, 'list the call legs');
      const page = readIds(answer.body, 'callLegs', 'callLeg');
      legs.push(...page.ids);
      offset += page.ids.length;
      if (page.ids.length === 0 || offset >= page.total) return legs;
    }
  }

  muteAudio(participantId: string, muted = true): Promise<void> {
    return this.#onLegs(participantId, { rxAudioMute: muted }, muted ? 'mute' : 'unmute');
  }

  muteVideo(participantId: string, muted = true): Promise<void> {
    return this.#onLegs(participantId, { rxVideoMute: muted }, muted ? 'turn the camera off' : 'turn the camera on');
  }

  setLayout(participantId: string, layout: string): Promise<void> {
    return this.#onLegs(participantId, { chosenLayout: layout }, 'set the layout');
  }

  /** null clears it. */
  async setImportance(participantId: string, importance: number | null): Promise<void> {
    await this.request('PUT', `/participants/${encodeURIComponent(participantId)}`, { importance }, 'set the importance');
  }

  /** Drops the participant: every one of their call legs. */
  async drop(participantId: string): Promise<void> {
    for (const leg of await this.legsOf(participantId)) await this.request('DELETE', `/callLegs/${encodeURIComponent(leg)}`, undefined, 'drop the participant');
  }

  /** Dials `remoteParty` into the call; resolves with the new participant's id. */
  async dial(callId: string, remoteParty: string, name?: string): Promise<string> {
    const params: Params = { remoteParty };
    if (name !== undefined) params.nameLabelOverride = name;
    const answer = await this.request('POST', `/calls/${encodeURIComponent(callId)}/participants`, params, 'dial out');
    const id = answer.location?.split('/').filter(Boolean).pop();
    if (id === undefined) throw new CmsApiError(`dial out: the server answered HTTP ${answer.status} without the new participant's Location`, answer.status, undefined);
    return decodeURIComponent(id);
  }

  // ---- calls --------------------------------------------------------------------------------

  async lock(callId: string, locked = true): Promise<void> {
    await this.request('PUT', `/calls/${encodeURIComponent(callId)}`, { locked }, locked ? 'lock the call' : 'unlock the call');
  }

  async record(callId: string, recording = true): Promise<void> {
    await this.request('PUT', `/calls/${encodeURIComponent(callId)}`, { recording }, recording ? 'start recording' : 'stop recording');
  }

  /** Ends the call for everyone. */
  async end(callId: string): Promise<void> {
    await this.request('DELETE', `/calls/${encodeURIComponent(callId)}`, undefined, 'end the call');
  }

  // ---- health -------------------------------------------------------------------------------

  /** GET /system/status: the software version, uptime and call-leg figures (what the daemon shows per server). */
  async status(): Promise<CmsStatus> {
    const answer = await this.request('GET', '/system/status', undefined, 'read the system status');
    const leaves = readLeaves(answer.body, 'status');
    const count = (name: string): number | null => {
      const value = Number(leaves[name]);
      return leaves[name] !== undefined && Number.isFinite(value) ? value : null;
    };
    return { version: leaves.softwareVersion ?? null, uptimeSeconds: count('uptimeSeconds'), callLegsActive: count('callLegsActive') };
  }

  /** GET /system/alarms, every page: the alarms active now. */
  async alarms(): Promise<ListedAlarm[]> {
    const alarms: ListedAlarm[] = [];
    for (let offset = 0; ; ) {
      const answer = await this.request('GET', '/system/alarms', { offset }, 'read the alarms');
      const page = readItems(answer.body, 'alarms', 'alarm');
      for (const item of page.items) {
        if (item.type === undefined) continue;
        const alarm: ListedAlarm = { type: item.type };
        if (item.id !== undefined) alarm.id = item.id;
        const active = Number(item.activeTimeSeconds);
        if (item.activeTimeSeconds !== undefined && Number.isFinite(active)) alarm.activeTimeSeconds = active;
        if (item.failureReason !== undefined) alarm.failureReason = item.failureReason;
        alarms.push(alarm);
      }
      offset += page.items.length;
      if (page.items.length === 0 || offset >= page.total) return alarms;
    }
  }

  // ---- CDR receivers ------------------------------------------------------------------------

  /** GET /system/cdrReceivers, every page: the receivers this Call Bridge posts its CDRs to, and how many it allows. */
  async cdrReceivers(): Promise<{ receivers: CdrReceiverEntry[]; maximum: number | null }> {
    const receivers: CdrReceiverEntry[] = [];
    let maximum: number | null = null;
    for (let offset = 0; ; ) {
      const answer = await this.request('GET', '/system/cdrReceivers', { offset }, 'list the CDR receivers');
      const page = readItems(answer.body, 'cdrReceivers', 'cdrReceiver');
      const max = Number(page.attributes.maximum);
      if (page.attributes.maximum !== undefined && Number.isFinite(max)) maximum = max;
      for (const item of page.items) if (item.id !== undefined) receivers.push({ id: item.id, uri: item.uri ?? '' });
      offset += page.items.length;
      if (page.items.length === 0 || offset >= page.total) return { receivers, maximum };
    }
  }

  /** POST /system/cdrReceivers: resolves with the new receiver's id. */
  async addCdrReceiver(uri: string): Promise<string> {
    const answer = await this.request('POST', '/system/cdrReceivers', { uri }, 'add a CDR receiver');
    const id = answer.location?.split('/').filter(Boolean).pop();
    if (id === undefined) throw new CmsApiError(`add a CDR receiver: the server answered HTTP ${answer.status} without the new receiver's Location`, answer.status, undefined);
    return decodeURIComponent(id);
  }

  /** PUT /system/cdrReceivers/<id>: points an existing receiver elsewhere (it keeps its record numbering and what it holds back). */
  async setCdrReceiver(id: string, uri: string): Promise<void> {
    await this.request('PUT', `/system/cdrReceivers/${encodeURIComponent(id)}`, { uri }, 'change a CDR receiver');
  }

  async removeCdrReceiver(id: string): Promise<void> {
    await this.request('DELETE', `/system/cdrReceivers/${encodeURIComponent(id)}`, undefined, 'delete a CDR receiver');
  }

  // ---- the rest -----------------------------------------------------------------------------

  /**
   * Any request under /api/v1 (`path` relative to it, e.g. `/calls`). GET and DELETE send
   * `params` in the query, POST and PUT form-encoded. A 503 is tried again with backoff; any
   * other status ≥ 300 throws a CmsApiError.
   */
  async request(method: string, path: string, params?: Params, action = `${method} ${path}`): Promise<CmsAnswer> {
    const backoff = new Backoff({ initialMs: CONTROL.backoffInitialMs, maxMs: CONTROL.backoffMaxMs, random: this.#random });
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#attempt(method, path, params, action);
      if (answer.status < 300) return answer;
      const failure = readFailure(answer.body);
      if (answer.status === 503 && attempt < CONTROL.attempts) {
        await sleep(this.#clock, backoff.next());
        continue;
      }
      const details = failure?.details ?? {};
      throw new CmsApiError(this.#secrets.redact(describeRefusal(action, answer.status, failure?.code, details)), answer.status, failure?.code, details);
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  async #onLegs(participantId: string, params: Params, action: string): Promise<void> {
    const legs = await this.legsOf(participantId);
    if (legs.length === 0) throw new CmsApiError(`${action}: the participant has no call legs (they may have left)`, 404, 'callLegDoesNotExist');
    for (const leg of legs) await this.request('PUT', `/callLegs/${encodeURIComponent(leg)}`, params, action);
  }

  async #attempt(method: string, path: string, params: Params | undefined, action: string): Promise<CmsAnswer> {
    const form = params === undefined ? undefined : toForm(params);
    const inBody = method === 'POST' || method === 'PUT';
    const headers: Record<string, string> = { authorization: this.#authorization, accept: 'application/xml' };
    if (inBody) headers['content-type'] = 'application/x-www-form-urlencoded';
    const query = !inBody && form ? `?${form}` : '';
    try {
      const response = await this.#pool.request({
        method: method as 'GET',
        path: `/api/v1${path}${query}`,
        headers,
        body: inBody ? (form ?? '') : undefined,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const body = await response.body.text();
      const location = response.headers.location;
      return { status: response.statusCode, location: Array.isArray(location) ? location[0] : location, body };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError';
      const reason = timedOut ? `no answer within ${this.#timeoutMs} ms` : this.#secrets.describe(error);
      throw new CmsApiError(`${action}: ${reason}`, 0, undefined);
    }
  }
}

/** Form encoding as the CMS reads it: booleans true/false, null as an empty value (it unsets). */
function toForm(params: Params): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) form.set(key, value === null ? '' : String(value));
  return form.toString();
}
