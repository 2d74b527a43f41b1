// One simulated Call Bridge: the REST token endpoint and the event socket on one port, the world
// it hosts, its faults, switches, health (system status and alarms) and CDRs (records of its calls
// POSTed to the receivers REST /system/cdrReceivers lists). Kept light, since a benchmark runs a thousand in one process.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { givenCertificate, selfSignedCertificate, type ServerCertificate } from './certificate.js';
import { EventConnection, type ConnectionHost } from './event-connection.js';
import { Alarms } from './alarms.js';
import { CallLegFigures } from './call-leg-figures.js';
import { CallLegs } from './call-legs.js';
import { CdrCalls } from './cdr-calls.js';
import { CdrReceivers } from './cdr-receivers.js';
import { refuseUpgrade, sendFailure } from './http-responses.js';
import { REST_PREFIX, RestApi } from './rest-api.js';
import { resolveSwitches, type SimulatorSwitches } from './switches.js';
import { realClock, type Clock } from '../clock.js';
import { TokenStore } from './tokens.js';
import type { AlarmInfo, CallBridgeInfo, ConnectionFigures, Faults, RestRequestRecord, SimulatedCdr, SimulatedServer, SimulatorOptions, SimulatorStats, SystemStatus, Violation } from './types.js';
import { ViolationLog } from './violations.js';
import { SimulatedWorld, type WorldChange } from './world.js';

const TOKEN_PATH = '/api/v1/authTokens';
const EVENTS_PATH = '/events/v1';
/** A subscribeRequest for every call of a big bridge stays far below this. */
const MAX_CLIENT_FRAME_BYTES = 4 * 1024 * 1024;
/** Closed connections whose figures connectionFigures() still reports. */
const KEPT_CLOSED_CONNECTIONS = 100;
const DEFAULT_SOFTWARE_VERSION = '3.8.1';

function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

class SimulatorServer implements SimulatedServer, ConnectionHost {
  readonly name: string;
  readonly host: string;
  port = 0;
  readonly tls: boolean;
  readonly caPem?: string;
  readonly caPath?: string;
  readonly fingerprint?: string;
  readonly username: string;
  readonly password: string;
  readonly softwareVersion: string;
  readonly switches: SimulatorSwitches;
  readonly clock: Clock;
  readonly world: SimulatedWorld;
  readonly faults: Faults;
  readonly cdr: SimulatedCdr;
  callBridges: readonly CallBridgeInfo[] = [];
  onFrameSent?: (connectionId: number, messageId: number) => void;

  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly tokens: TokenStore;
  private readonly legs = new CallLegs();
  private readonly legFigures = new CallLegFigures();
  private readonly alarmList: Alarms;
  private readonly cdrReceivers: CdrReceivers;
  private readonly cdrCalls: CdrCalls;
  /** clock.now() at construction: what uptimeSeconds counts from. */
  private readonly startedAt: number;
  private readonly rest: RestApi;
  private readonly log = new ViolationLog();
  private readonly connections = new Set<EventConnection>();
  private readonly closedFigures: ConnectionFigures[] = [];
  private readonly idleWaiters: Array<() => void> = [];
  private readonly counters = { tokensIssued: 0, handshakesRejected: 0, connectionsOpened: 0, messagesSent: 0, acksReceived: 0, subscribeRequests: 0, pingsReceived: 0, pongsSent: 0 };
  private lastConnectionId = 0;
  private down = false;
  private stalled = false;
  private closing: Promise<void> | undefined;

  constructor(options: SimulatorOptions, certificate: ServerCertificate | undefined) {
    this.name = options.name ?? 'cms';
    this.host = options.host ?? '127.0.0.1';
    this.username = options.username ?? 'admin';
    this.password = options.password ?? 'admin';
    this.switches = resolveSwitches(options.switches);
    this.clock = options.clock ?? realClock;
    this.softwareVersion = options.softwareVersion ?? DEFAULT_SOFTWARE_VERSION;
    if (typeof this.softwareVersion !== 'string' || this.softwareVersion === '') throw new TypeError('softwareVersion must be a non-empty string');
    this.startedAt = this.clock.now();
    this.alarmList = new Alarms(this.clock);
    this.tls = certificate !== undefined;
    if (certificate) {
      this.caPem = certificate.caPem;
      this.caPath = certificate.caPath;
      this.fingerprint = certificate.fingerprint;
    }
    this.tokens = new TokenStore(this.switches, this.clock);
    this.world = new SimulatedWorld((changes) => this.publish(changes));
    this.cdrReceivers = new CdrReceivers({ switches: this.switches, clock: this.clock, alarms: this.alarmList, name: this.name, callBridges: () => this.callBridges });
    this.cdr = this.cdrReceivers;
    this.cdrCalls = new CdrCalls(this.cdrReceivers, this.clock, (participantId) => this.legs.legsOf(participantId)[0]?.id);
    this.rest = new RestApi({
      world: this.world,
      legs: this.legs,
      switches: this.switches,
      clock: this.clock,
      callBridges: () => this.callBridges,
      systemStatus: () => this.systemStatus(),
      cdrReceivers: this.cdrReceivers,
      alarms: () => this.alarms(),
      authenticate: (header) => this.authentic(header),
      isDown: () => this.down,
    });
    this.faults = {
      dropAll: () => this.dropAll(),
      goDown: () => {
        this.down = true;
        this.dropAll();
      },
      comeUp: () => {
        this.down = false;
      },
      stallAcks: (on: boolean) => {
        this.stalled = on;
        if (!on) for (const connection of this.connections) connection.releaseHeld();
      },
      sendRaw: (frame: string) => {
        for (const connection of this.connections) connection.sendRaw(frame);
      },
      restBusy: (count: number) => this.rest.busyFor(count),
      raiseAlarm: (type: string, failureReason?: string) => this.alarmList.raise(type, failureReason),
      clearAlarm: (type: string) => this.alarmList.clear(type),
    };
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handleRequest(req, res);
    this.http = certificate ? createHttpsServer({ cert: certificate.cert, key: certificate.key }, handler) : createHttpServer(handler);
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    // Pings are answered by the connection, so that `answerPings` can change at run time.
    this.wss = new WebSocketServer({ noServer: true, clientTracking: false, autoPong: false, perMessageDeflate: false, maxPayload: MAX_CLIENT_FRAME_BYTES });
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.tls ? 'https' : 'http'}://${host}:${this.port}`;
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, this.host, () => {
        this.http.off('error', reject);
        this.port = (this.http.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  violations(): Violation[] {
    return this.log.list();
  }

  restRequests(last?: number): RestRequestRecord[] {
    return this.rest.requests(last);
  }

  systemStatus(): SystemStatus {
    const now = this.clock.now();
    return {
      softwareVersion: this.softwareVersion,
      uptimeSeconds: Math.max(0, Math.floor((now - this.startedAt) / 1000)),
      activated: true,
      clusterEnabled: this.callBridges.length > 0,
      cdrTime: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      callLegsActive: this.legFigures.active,
      callLegsMaxActive: this.legFigures.maxActive,
      callLegsCompleted: this.legFigures.completed,
      audioBitRateOutgoing: 0,
      videoBitRateOutgoing: 0,
      audioBitRateIncoming: 0,
      videoBitRateIncoming: 0,
    };
  }

  alarms(): AlarmInfo[] {
    return this.alarmList.list();
  }

  stats(): SimulatorStats {
    let queued = 0;
    let unacked = 0;
    for (const connection of this.connections) {
      queued += connection.queued;
      unacked += connection.unackedCount;
    }
    return { ...this.counters, openConnections: this.connections.size, queued, unacked };
  }

  connectionFigures(): ConnectionFigures[] {
    const open = [...this.connections].map((connection) => connection.snapshotFigures());
    return [...this.closedFigures.map((figures) => ({ ...figures })), ...open].sort((a, b) => a.id - b.id);
  }

  idle(): Promise<void> {
    if (this.allIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([
      new Promise<void>((resolve) => {
        this.down = true;
        this.dropAll();
        this.http.close(() => resolve());
        this.http.closeAllConnections();
        this.wss.close();
        this.releaseIdleWaiters();
      }),
      this.cdrReceivers.close(),
    ]).then(() => undefined);
    return this.closing;
  }

  // ConnectionHost

  acksStalled(): boolean {
    return this.stalled;
  }

  violation(connectionId: number, kind: string, detail: string): void {
    this.log.record(connectionId, kind, detail);
  }

  messageSent(connectionId: number, messageId: number): void {
    this.counters.messagesSent += 1;
    this.onFrameSent?.(connectionId, messageId);
  }

  ackReceived(): void {
    this.counters.acksReceived += 1;
  }

  subscribeRequested(): void {
    this.counters.subscribeRequests += 1;
  }

  pinged(answered: boolean): void {
    this.counters.pingsReceived += 1;
    if (answered) this.counters.pongsSent += 1;
  }

  drained(): void {
    if (this.idleWaiters.length > 0 && this.allIdle()) this.releaseIdleWaiters();
  }

  closed(connection: EventConnection): void {
    this.connections.delete(connection);
    this.closedFigures.push(connection.snapshotFigures());
    if (this.closedFigures.length > KEPT_CLOSED_CONNECTIONS) this.closedFigures.shift();
    this.drained();
  }

  // HTTP

  private handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (path.startsWith(REST_PREFIX) && path !== TOKEN_PATH) {
      this.rest.handle(req, res);
      return;
    }
    req.resume();
    if (path !== TOKEN_PATH) {
      sendFailure(res, 404, 'unknownPath');
      return;
    }
    if (req.method !== 'POST') {
      sendFailure(res, 405, 'methodNotSupported', { Allow: 'POST' });
      return;
    }
    if (this.down) {
      sendFailure(res, 503, 'serviceUnavailable');
      return;
    }
    if (!this.authentic(req.headers.authorization)) {
      sendFailure(res, 401, 'authenticationFailure', { 'WWW-Authenticate': 'Basic realm="CMS API"' });
      return;
    }
    this.counters.tokensIssued += 1;
    res.writeHead(200, { 'X-Cisco-CMS-Auth-Token': this.tokens.issue(), 'Content-Length': 0 });
    res.end();
  }

  private authentic(header: string | undefined): boolean {
    const credentials = basicCredentials(header);
    return credentials !== undefined && credentials.user === this.username && credentials.password === this.password;
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const refusal = this.refusal(url);
    if (refusal) {
      this.counters.handshakesRejected += 1;
      refuseUpgrade(socket, refusal.status, refusal.reason);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.accept(ws));
  }

  /** Why an upgrade is refused, checked so that a refused upgrade never spends a token. */
  private refusal(url: URL): { status: number; reason: string } | undefined {
    if (this.down) return { status: 503, reason: 'server down' };
    if (url.pathname !== EVENTS_PATH) return { status: 404, reason: 'not found' };
    const limit = this.switches.maxConnections;
    if (limit > 0 && this.connections.size >= limit) return { status: this.switches.connectionLimitStatus, reason: 'too many event connections' };
    const token = this.tokens.redeem(url.searchParams.get('authToken'));
    if (token !== 'ok') return { status: this.switches.handshakeRejectStatus, reason: `auth token ${token}` };
    return undefined;
  }

  private accept(ws: WebSocket): void {
    this.lastConnectionId += 1;
    this.counters.connectionsOpened += 1;
    this.connections.add(new EventConnection(this.lastConnectionId, ws, this));
  }

  private publish(changes: readonly WorldChange[]): void {
    this.legs.apply(changes);
    this.legFigures.apply(changes);
    for (const connection of this.connections) connection.applyChanges(changes);
    this.cdrCalls.apply(changes);
  }

  private dropAll(): void {
    for (const connection of this.connections) connection.drop();
  }

  private allIdle(): boolean {
    for (const connection of this.connections) if (!connection.idle()) return false;
    return true;
  }

  private releaseIdleWaiters(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatedServer> {
  const tls = options.tls ?? true;
  let certificate: ServerCertificate | undefined;
  if (tls === true) certificate = await selfSignedCertificate(options.host ?? '127.0.0.1');
  else if (tls) certificate = givenCertificate(tls);
  const server = new SimulatorServer(options, certificate);
  await server.listen(options.port ?? 0);
  return server;
}
