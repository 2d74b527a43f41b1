// A small plain-HTTP JSON API to drive simulated bridges from outside the process: their worlds,
// faults and switches. Routes are listed in CONTROL_API_ROUTES (and in the simulator's README text
// printed by `--help`); `{server}` is a server's name or port, or `*` for every server where noted.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BridgeCluster } from './bridge-cluster.js';
import { checkSwitches } from './switches.js';
import type { SimulatedServer } from './types.js';
import { WorldError } from './world.js';

export const CONTROL_API_ROUTES = [
  'GET    /servers',
  'GET    /servers/{server}                         (with stats and switches)',
  'GET    /servers/{server}/calls',
  'POST   /servers/{server}/calls                   {fields} → {id}',
  'PATCH  /servers/{server}/calls/{call}            {fields}',
  'DELETE /servers/{server}/calls/{call}?reason=R',
  'POST   /servers/{server}/calls/{call}/participants          {fields} → {id}',
  'PATCH  /servers/{server}/calls/{call}/participants/{id}     {fields}',
  'DELETE /servers/{server}/calls/{call}/participants/{id}?reason=R',
  'POST   /servers/{server|*}/faults/drop | down | up',
  'POST   /servers/{server|*}/faults/stall          {"on": true|false}',
  'POST   /servers/{server|*}/faults/raw            {"frame": "..."}',
  'POST   /servers/{server|*}/faults/restBusy       {"count": N}   (the next N REST requests answer 503)',
  'POST   /servers/{server|*}/faults/raiseAlarm     {"type": T, "failureReason"?: R} → {id} (per server with *)',
  'POST   /servers/{server|*}/faults/clearAlarm     {"type": T}',
  'GET    /servers/{server}/switches',
  'PATCH  /servers/{server|*}/switches              {name: value, ...}',
  'GET    /servers/{server}/violations',
  'GET    /servers/{server}/restRequests?last=N     (the REST requests the bridge received)',
  'GET    /meetings                                 (meetings spread over the cluster\'s bridges: instances, who is hosted where)',
] as const;

const MAX_BODY_BYTES = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, 'body too large'));
      else chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        resolve(value as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'body must be a JSON object'));
      }
    });
  });
}

function describe(server: SimulatedServer) {
  return {
    name: server.name,
    url: server.url,
    host: server.host,
    port: server.port,
    tls: server.tls,
    username: server.username,
    password: server.password,
    caPath: server.caPath,
    fingerprint: server.fingerprint,
  };
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const WORLD_ERROR_STATUS = { unknownCall: 404, unknownParticipant: 404, duplicateId: 409, unknownField: 400 } as const;

export async function startControlApi(
  servers: SimulatedServer[],
  options: { host?: string; port?: number; cluster?: BridgeCluster } = {},
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const find = (key: string, allowAll: boolean): SimulatedServer[] => {
    if (key === '*' && allowAll) return servers;
    const found = servers.find((s) => s.name === key) ?? servers.find((s) => String(s.port) === key);
    if (!found) throw new HttpError(404, `no server ${JSON.stringify(key)}`);
    return [found];
  };
  const one = (key: string) => find(key, false)[0] as SimulatedServer;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://control');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const reason = url.searchParams.get('reason') ?? undefined;
    const [root, key, section, id, sub, subId] = parts;
    if (root === 'meetings' && key === undefined) {
      if (method !== 'GET') throw new HttpError(405, 'method not allowed');
      return send(res, 200, options.cluster?.meetings() ?? []);
    }
    if (root !== 'servers') throw new HttpError(404, 'unknown route');
    if (key === undefined) {
      if (method !== 'GET') throw new HttpError(405, 'method not allowed');
      return send(res, 200, servers.map(describe));
    }
    const route = `${method} ${[section, id, sub, subId].map((p, i) => (p === undefined ? '' : i % 2 === 1 ? ':' : p)).join('/').replace(/\/+$/, '')}`;
    switch (route) {
      case 'GET ': {
        const server = one(key);
        return send(res, 200, { ...describe(server), stats: server.stats(), switches: server.switches });
      }
      case 'GET calls':
        return send(res, 200, one(key).world.listCalls());
      case 'POST calls':
        return send(res, 201, { id: one(key).world.createCall(await readBody(req)) });
      case 'PATCH calls/:':
        one(key).world.updateCall(id as string, await readBody(req));
        return send(res, 204);
      case 'DELETE calls/:':
        one(key).world.endCall(id as string, reason ?? ((await readBody(req)).reason as string | undefined));
        return send(res, 204);
      case 'POST calls/:/participants':
        return send(res, 201, { id: one(key).world.addParticipant(id as string, await readBody(req)) });
      case 'PATCH calls/:/participants/:':
        one(key).world.updateParticipant(id as string, subId as string, await readBody(req));
        return send(res, 204);
      case 'DELETE calls/:/participants/:':
        one(key).world.removeParticipant(id as string, subId as string, reason ?? ((await readBody(req)).reason as string | undefined));
        return send(res, 204);
      case 'POST faults/:':
        return fault(find(key, true), id as string, await readBody(req), res);
      case 'GET switches':
        return send(res, 200, one(key).switches);
      case 'PATCH switches':
      case 'PUT switches': {
        const targets = find(key, true);
        const patch = await readBody(req);
        const problems = checkSwitches(patch);
        if (problems.length > 0) throw new HttpError(400, problems.join('; '));
        for (const server of targets) Object.assign(server.switches, patch);
        return send(res, 200, targets.length === 1 ? targets[0]?.switches : targets.map((s) => ({ name: s.name, switches: s.switches })));
      }
      case 'GET violations':
        return send(res, 200, one(key).violations());
      case 'GET restRequests': {
        const last = url.searchParams.get('last');
        return send(res, 200, one(key).restRequests(last === null ? undefined : Math.max(0, Number(last) || 0)));
      }
      default:
        throw new HttpError(404, `unknown route ${method} ${url.pathname}`);
    }
  }

  function fault(targets: SimulatedServer[], name: string, body: Record<string, unknown>, res: ServerResponse): void {
    switch (name) {
      case 'drop':
        for (const s of targets) s.faults.dropAll();
        break;
      case 'down':
        for (const s of targets) s.faults.goDown();
        break;
      case 'up':
        for (const s of targets) s.faults.comeUp();
        break;
      case 'stall': {
        const on = body.on ?? true;
        if (typeof on !== 'boolean') throw new HttpError(400, '"on" must be a boolean');
        for (const s of targets) s.faults.stallAcks(on);
        break;
      }
      case 'raw':
        if (typeof body.frame !== 'string') throw new HttpError(400, '"frame" must be a string');
        for (const s of targets) s.faults.sendRaw(body.frame);
        break;
      case 'restBusy': {
        const count = body.count ?? 1;
        if (!Number.isSafeInteger(count) || (count as number) < 0) throw new HttpError(400, '"count" must be an integer >= 0');
        for (const s of targets) s.faults.restBusy(count as number);
        break;
      }
      case 'raiseAlarm': {
        const { type, failureReason } = body;
        if (typeof type !== 'string' || type === '') throw new HttpError(400, '"type" must be a non-empty string');
        if (failureReason !== undefined && typeof failureReason !== 'string') throw new HttpError(400, '"failureReason" must be a string');
        const raised = targets.map((s) => ({ name: s.name, id: s.faults.raiseAlarm(type, failureReason) }));
        return send(res, 200, targets.length === 1 ? { id: raised[0]?.id } : raised);
      }
      case 'clearAlarm':
        if (typeof body.type !== 'string' || body.type === '') throw new HttpError(400, '"type" must be a non-empty string');
        for (const s of targets) s.faults.clearAlarm(body.type);
        break;
      default:
        throw new HttpError(404, `unknown fault ${JSON.stringify(name)} (drop, down, up, stall, raw, restBusy, raiseAlarm, clearAlarm)`);
    }
    send(res, 204);
  }

  const http = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof WorldError ? WORLD_ERROR_STATUS[error.code] : 500;
      if (!res.headersSent) send(res, status, { error: (error as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
