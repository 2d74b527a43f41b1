// The CMS REST call-control API of a simulated bridge, under /api/v1 beside the token endpoint, as
// strict as the feed: Basic auth on every request, form-encoded bodies only, XML answers, a create
// answered 200 with a Location header and no body, refusals as <failureDetails>. Every accepted
// change goes through the world, so subscribers hear of it on the events feed as from a real CMS.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallLegs } from './call-legs.js';
import type { CdrReceivers } from './cdr-receivers.js';
import { failureXml } from './rest-xml.js';
import { RestFailure, routeRest, type RestContext } from './rest-routes.js';
import type { AlarmInfo, CallBridgeInfo, RestRequestRecord, SystemStatus } from './types.js';
import type { SimulatorSwitches } from './switches.js';
import type { Clock } from '../clock.js';
import type { SimulatedWorld } from './world.js';

export const REST_PREFIX = '/api/v1/';
const MAX_BODY_BYTES = 64 * 1024;
const KEPT_RECORDS = 1000;
const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface RestHost {
  readonly world: SimulatedWorld;
  readonly legs: CallLegs;
  readonly switches: SimulatorSwitches;
  readonly clock: Clock;
  /** The bridges of its cluster (none when it stands alone). */
  callBridges(): readonly CallBridgeInfo[];
  /** What GET /system/status reports now. */
  systemStatus(): SystemStatus;
  /** The active alarms, for GET /system/alarms. */
  alarms(): AlarmInfo[];
  /** The receivers its CDRs go to (/system/cdrReceivers). */
  readonly cdrReceivers: CdrReceivers;
  /** Whether the Authorization header carries the bridge's credentials. */
  authenticate(header: string | undefined): boolean;
  /** The whole server is down (faults.goDown). */
  isDown(): boolean;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
  });
}

function send(res: ServerResponse, status: number, body: string | undefined, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, { ...headers, 'Content-Length': 0 });
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export class RestApi {
  private busy = 0;
  private readonly records: RestRequestRecord[] = [];

  constructor(private readonly host: RestHost) {}

  /** The next `count` authenticated requests answer 503 <databaseNotReady />. */
  busyFor(count: number): void {
    if (!Number.isSafeInteger(count) || count < 0) throw new TypeError('restBusy count must be an integer >= 0');
    this.busy = count;
  }

  /** The requests received, oldest first: the last `last` of them (all kept ones by default). */
  requests(last = KEPT_RECORDS): RestRequestRecord[] {
    return this.records.slice(-last).map((r) => ({ ...r, query: { ...r.query }, params: { ...r.params } }));
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.serve(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, failureXml('internalError'));
      else res.destroy();
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type'];
    const body = await readBody(req);
    const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
    const hasBody = body !== undefined && body !== '';
    const formOk = mediaType === undefined ? !hasBody : mediaType === FORM_TYPE;
    const params: Record<string, string> = formOk && body ? Object.fromEntries(new URLSearchParams(body)) : {};
    const record: RestRequestRecord = {
      at: this.host.clock.now(),
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(contentType === undefined ? {} : { contentType }),
      params,
      ...(formOk || !hasBody ? {} : { rawBody: body.slice(0, 1024) }),
      authenticated: this.host.authenticate(req.headers.authorization),
      status: 0,
    };
    this.records.push(record);
    if (this.records.length > KEPT_RECORDS) this.records.splice(0, this.records.length - KEPT_RECORDS);
    const answer = (status: number, text: string | undefined, headers?: Record<string, string>) => {
      record.status = status;
      send(res, status, text, headers);
    };
    if (body === undefined) return answer(413, failureXml('parameterError', { parameter: 'body', error: 'tooLong' }));
    if (this.host.isDown()) return answer(503, failureXml('serviceUnavailable'));
    if (!record.authenticated) return answer(401, failureXml('authenticationFailure'), { 'WWW-Authenticate': 'Basic realm="CMS API"' });
    if (this.busy > 0) {
      this.busy -= 1;
      return answer(503, failureXml('databaseNotReady'));
    }
    if (!formOk || ((method === 'POST' || method === 'PUT') && mediaType !== undefined && mediaType !== FORM_TYPE)) {
      return answer(400, failureXml('parameterError', { parameter: 'Content-Type', error: `bodies must be ${FORM_TYPE}` }));
    }
    const host = this.host;
    const context: RestContext = {
      world: host.world,
      legs: host.legs,
      switches: host.switches,
      clock: host.clock,
      callBridges: host.callBridges(),
      systemStatus: () => host.systemStatus(),
      alarms: () => host.alarms(),
      cdrReceivers: host.cdrReceivers,
    };
    try {
      const result = routeRest(context, method, url, params);
      if (result.location !== undefined) answer(result.status ?? 200, undefined, { Location: result.location });
      else answer(result.status ?? 200, result.body);
    } catch (error) {
      if (!(error instanceof RestFailure)) throw error;
      answer(error.status, failureXml(error.code, error.attrs), error.status === 405 ? { Allow: error.attrs.allow as string } : {});
    }
  }
}
