// The resources of the simulated REST API (docs in the simulator's rest-api.ts): each route reads
// or changes the world, which reports every change on the events feed. A participant hosted on
// another bridge of the cluster is listed with its `<callBridge>` and only its host changes it:
// here a change is refused with participantCannotBeModified, a drop with participantCannotBeDeleted.
// The two health resources, system/status and system/alarms, only read; system/cdrReceivers is
// answered by cdr-routes.ts.
import type { Clock } from '../clock.js';
import type { CallLegs, LegRecord } from './call-legs.js';
import { routeCdrReceivers } from './cdr-routes.js';
import type { CdrReceivers } from './cdr-receivers.js';
import {
  alarmSummary,
  callBridgeSummary,
  callSummary,
  callXml,
  collectionXml,
  legSummary,
  legXml,
  participantSummary,
  participantXml,
  statusXml,
  type Attributes,
} from './rest-xml.js';
import type { SimulatorSwitches } from './switches.js';
import type { AlarmInfo, CallBridgeInfo, SystemStatus } from './types.js';
import type { CallRecord, ParticipantRecord, SimulatedWorld } from './world.js';
import { WorldError } from './world.js';

export class RestFailure extends Error {
  /** `code` is the failureDetails child element's name. */
  constructor(
    readonly status: number,
    readonly code: string,
    readonly attrs: Attributes = {},
  ) {
    super(code);
  }
}

export interface RestContext {
  readonly world: SimulatedWorld;
  readonly legs: CallLegs;
  readonly switches: SimulatorSwitches;
  readonly clock: Clock;
  /** The bridges of the cluster (none for a bridge on its own). */
  readonly callBridges: readonly CallBridgeInfo[];
  systemStatus(): SystemStatus;
  alarms(): AlarmInfo[];
  readonly cdrReceivers: CdrReceivers;
}

/** 200 by default; `location` makes a create answer (no body). */
export interface RestAnswer {
  status?: number;
  body?: string;
  location?: string;
}

export const LAYOUTS: ReadonlySet<string> = new Set([
  'allEqual', 'speakerOnly', 'telepresence', 'stacked', 'allEqualQuarters', 'allEqualNinths', 'allEqualSixteenths',
  'allEqualTwentyFifths', 'onePlusFive', 'onePlusSeven', 'onePlusNine', 'automatic', 'onePlusN',
]);

const ROUTES: Record<string, readonly string[]> = {
  calls: ['GET'],
  'calls/:': ['GET', 'PUT', 'DELETE'],
  'calls/:/participants': ['GET', 'POST'],
  'calls/:/participants/*': ['PUT'],
  'calls/:/callLegs': ['GET', 'POST'],
  participants: ['GET'],
  'participants/:': ['GET', 'PUT', 'DELETE'],
  'participants/:/callLegs': ['GET'],
  callLegs: ['GET'],
  'callLegs/:': ['GET', 'PUT', 'DELETE'],
  callBridges: ['GET'],
  'system/status': ['GET'],
  'system/alarms': ['GET'],
  'system/cdrReceivers': ['GET', 'POST'],
  'system/cdrReceivers/:': ['GET', 'PUT', 'DELETE'],
};

type Params = Record<string, string>;
type Found = { call: CallRecord; participant: ParticipantRecord };

const paramError = (parameter: string, error: string) => new RestFailure(400, 'parameterError', { parameter, error });

function only(params: Params, names: readonly string[]): void {
  for (const name of Object.keys(params)) if (!names.includes(name)) throw paramError(name, 'unknownParameter');
}

function bool(params: Params, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw paramError(name, 'invalidValue');
}

function integer(params: Params, name: string): number | null | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (value === '') return null;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) throw paramError(name, 'invalidValue');
  return n;
}

function layout(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (value === '') return 'allEqual';
  if (!LAYOUTS.has(value)) throw paramError(name, 'invalidValue');
  return value;
}

function required(params: Params, name: string): string {
  const value = params[name];
  if (value === undefined || value === '') throw paramError(name, 'required');
  return value;
}

/** Only the host bridge changes a participant; another bridge of the cluster only lists them. */
function hosted(found: Found, change: 'modify' | 'delete'): Found {
  if (found.participant.callBridge === undefined) return found;
  throw new RestFailure(400, change === 'modify' ? 'participantCannotBeModified' : 'participantCannotBeDeleted');
}

const defined = <T extends object>(fields: T): Partial<T> =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;

export function routeRest(ctx: RestContext, method: string, url: URL, params: Params): RestAnswer {
  let parts: string[];
  try {
    parts = url.pathname.slice('/api/v1/'.length).replace(/\/$/, '').split('/').map(decodeURIComponent);
  } catch {
    throw new RestFailure(404, 'unknownPath');
  }
  const [collection, id = '', sub] = parts;
  // Under system/ the second part names a resource, not an id; a third is the resource's id.
  const key = collection === 'system' ? parts.map((p, i) => (i === 2 ? ':' : p)).join('/') : parts.map((p, i) => (i % 2 === 0 ? p : p === '*' && i === 3 ? '*' : ':')).join('/');
  const allowed = ROUTES[key];
  if (!allowed || parts.length > 4 || parts.some((p) => p === '')) throw new RestFailure(404, 'unknownPath');
  if (!allowed.includes(method)) throw new RestFailure(405, 'methodNotSupported', { allow: allowed.join(', ') });
  if (key.startsWith('system/cdrReceivers')) return cdrReceivers(ctx, method, sub, params, url.searchParams);
  if (method === 'GET') return { body: read(ctx, collection as string, id, sub, url.searchParams) };
  const stale = ctx.switches.staleIdStatus;
  const findCall = (callId: string): CallRecord => {
    const call = ctx.world.call(callId);
    if (!call) throw new RestFailure(stale, 'callDoesNotExist');
    return call;
  };
  const findParticipant = (participantId: string): Found => {
    const call = ctx.world.call(ctx.legs.callOf(participantId) ?? '');
    const participant = call?.roster.get(participantId);
    if (!call || !participant) throw new RestFailure(stale, 'participantDoesNotExist');
    return { call, participant };
  };
  const findLeg = (legId: string): Found => {
    const leg = ctx.legs.leg(legId);
    const call = leg && ctx.world.call(leg.callId);
    const participant = leg && call?.roster.get(leg.participantId);
    if (!call || !participant) throw new RestFailure(stale, 'callLegDoesNotExist');
    return { call, participant };
  };
  switch (`${method} ${key}`) {
    case 'PUT callLegs/:': {
      const { call, participant } = hosted(findLeg(id), 'modify');
      only(params, ['rxAudioMute', 'rxVideoMute', 'chosenLayout']);
      const fields = defined({ audioMuted: bool(params, 'rxAudioMute'), videoMuted: bool(params, 'rxVideoMute'), layout: layout(params, 'chosenLayout') });
      ctx.world.updateParticipant(call.id, participant.id, fields);
      return {};
    }
    case 'DELETE callLegs/:': {
      const { call, participant } = hosted(findLeg(id), 'delete');
      ctx.world.removeParticipant(call.id, participant.id);
      return {};
    }
    case 'PUT participants/:': {
      const { call, participant } = hosted(findParticipant(id), 'modify');
      only(params, ['importance']);
      ctx.world.updateParticipant(call.id, participant.id, defined({ importance: integer(params, 'importance') }));
      return {};
    }
    case 'DELETE participants/:': {
      const { call, participant } = hosted(findParticipant(id), 'delete');
      ctx.world.removeParticipant(call.id, participant.id);
      return {};
    }
    case 'PUT calls/:': {
      const call = findCall(id);
      only(params, ['locked', 'recording', 'streaming']);
      const locked = bool(params, 'locked');
      const onOff = (name: string) => {
        const value = bool(params, name);
        return value === undefined ? undefined : value ? ('active' as const) : ('inactive' as const);
      };
      const fields = defined({ lockState: locked === undefined ? undefined : locked ? ('locked' as const) : ('unlocked' as const), recording: onOff('recording'), streaming: onOff('streaming') });
      ctx.world.updateCall(call.id, fields);
      return {};
    }
    case 'DELETE calls/:':
      ctx.world.endCall(findCall(id).id);
      return {};
    case 'PUT calls/:/participants/*':
      updateAll(ctx, findCall(id), params);
      return {};
    case 'POST calls/:/participants':
    case 'POST calls/:/callLegs': {
      const call = findCall(id);
      only(params, ['remoteParty', 'nameLabelOverride', 'importance']);
      const remoteParty = required(params, 'remoteParty');
      const importance = integer(params, 'importance');
      const participantId = ctx.world.addParticipant(call.id, {
        name: params.nameLabelOverride ?? '',
        uri: remoteParty,
        state: 'initial',
        direction: 'outgoing',
        ...(importance === undefined ? {} : { importance }),
      });
      scheduleAnswer(ctx, call.id, participantId);
      if (sub === 'participants') return { location: `/api/v1/participants/${participantId}` };
      const leg = ctx.legs.legsOf(participantId)[0] as LegRecord;
      return { location: `/api/v1/callLegs/${leg.id}` };
    }
    default:
      throw new RestFailure(405, 'methodNotSupported', { allow: allowed.join(', ') });
  }
}

function updateAll(ctx: RestContext, call: CallRecord, params: Params): void {
  only(params, ['rxAudioMute', 'rxVideoMute', 'layout', 'importance', 'filterIds', 'mode']);
  const fields = defined({ audioMuted: bool(params, 'rxAudioMute'), videoMuted: bool(params, 'rxVideoMute'), layout: layout(params, 'layout'), importance: integer(params, 'importance') });
  const ids = params.filterIds === undefined ? undefined : new Set(params.filterIds.split(',').filter(Boolean));
  const mode = params.mode ?? (ids ? undefined : 'exclude');
  if (mode !== 'exclude' && mode !== 'selected') throw paramError('mode', ids && params.mode === undefined ? 'required' : 'invalidValue');
  ctx.world.batch(() => {
    for (const [participantId, participant] of [...call.roster]) {
      if (participant.callBridge !== undefined) continue; // their host changes them, not this bridge
      const listed = ids?.has(participantId) ?? false;
      if (mode === 'selected' ? listed : !listed) ctx.world.updateParticipant(call.id, participantId, fields);
    }
  });
}

/** With dialOutAnswerMs, the far end rings half way there and connects at the end. */
function scheduleAnswer(ctx: RestContext, callId: string, participantId: string): void {
  const ms = ctx.switches.dialOutAnswerMs;
  if (ms <= 0) return;
  const step = (state: string) => () => {
    try {
      ctx.world.updateParticipant(callId, participantId, { state });
    } catch (error) {
      if (!(error instanceof WorldError)) throw error; // gone meanwhile
    }
  };
  ctx.clock.setTimeout(step('ringing'), Math.floor(ms / 2));
  ctx.clock.setTimeout(step('connected'), ms);
}

/** system/cdrReceivers: cdr-routes.ts answers, and its refusals become failureDetails here. */
function cdrReceivers(ctx: RestContext, method: string, receiverId: string | undefined, params: Params, query: URLSearchParams): RestAnswer {
  const receivers = ctx.cdrReceivers;
  const window = method === 'GET' && receiverId === undefined ? pageWindow(ctx, query) : undefined;
  const result = routeCdrReceivers(receivers, { method, params, staleStatus: ctx.switches.staleIdStatus, ...(receiverId === undefined ? {} : { receiverId }), ...(window ? { window } : {}) });
  if ('failure' in result) throw new RestFailure(result.failure.status, result.failure.code, result.failure.attrs);
  return result;
}

/** The slice of a collection a GET asks for with offset and limit, never more than restPageLimit items. */
function pageWindow(ctx: RestContext, query: URLSearchParams): { offset: number; limit: number } {
  const number = (param: string, fallback: number): number => {
    const raw = query.get(param);
    if (raw === null || raw === '') return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw paramError(param, 'invalidValue');
    return n;
  };
  const cap = ctx.switches.restPageLimit;
  return { offset: number('offset', 0), limit: Math.min(number('limit', cap), cap) };
}

function page(ctx: RestContext, query: URLSearchParams, items: string[], name: string): string {
  const { offset, limit } = pageWindow(ctx, query);
  return collectionXml(name, items.length, items.slice(offset, offset + limit));
}

function read(ctx: RestContext, collection: string, id: string, sub: string | undefined, query: URLSearchParams): string {
  const stale = ctx.switches.staleIdStatus;
  const filter = query.get('filter')?.toLowerCase();
  const matches = (name: unknown) => !filter || String(name ?? '').toLowerCase().includes(filter);
  const participants = (calls: Iterable<CallRecord>): Array<[CallRecord, ParticipantRecord]> =>
    [...calls].flatMap((call) => [...call.roster.values()].map((p): [CallRecord, ParticipantRecord] => [call, p]));
  const owner = (leg: LegRecord) => ctx.world.call(leg.callId)?.roster.get(leg.participantId);
  const legItems = (legs: LegRecord[]) => legs.flatMap((leg) => {
    const participant = owner(leg);
    return participant ? [legSummary(leg, participant)] : [];
  });
  if (collection === 'system') return id === 'status' ? statusXml(ctx.systemStatus()) : page(ctx, query, ctx.alarms().map(alarmSummary), 'alarms');
  if (collection === 'callBridges') return page(ctx, query, ctx.callBridges.map(callBridgeSummary), 'callBridges');
  if (collection === 'calls') {
    if (id === '') return page(ctx, query, [...ctx.world.calls()].filter((c) => matches(c.fields.name)).map(callSummary), 'calls');
    const call = ctx.world.call(id);
    if (!call) throw new RestFailure(stale, 'callDoesNotExist');
    if (sub === 'participants') return page(ctx, query, participants([call]).filter(([, p]) => matches(p.fields.name)).map(([c, p]) => participantSummary(c.id, p)), 'participants');
    if (sub === 'callLegs') return page(ctx, query, legItems(ctx.legs.all().filter((l) => l.callId === id)), 'callLegs');
    return callXml(call, ctx.legs.all().filter((l) => l.callId === id).length);
  }
  if (collection === 'participants') {
    if (id === '') return page(ctx, query, participants(ctx.world.calls()).filter(([, p]) => matches(p.fields.name)).map(([c, p]) => participantSummary(c.id, p)), 'participants');
    const call = ctx.world.call(ctx.legs.callOf(id) ?? '');
    const participant = call?.roster.get(id);
    if (!call || !participant) throw new RestFailure(stale, 'participantDoesNotExist');
    if (sub === 'callLegs') return page(ctx, query, legItems(ctx.legs.legsOf(id)), 'callLegs');
    return participantXml(call.id, participant, ctx.legs.legsOf(id).length);
  }
  if (id === '') {
    const participantFilter = query.get('participantFilter');
    return page(ctx, query, legItems(participantFilter ? ctx.legs.legsOf(participantFilter) : ctx.legs.all()), 'callLegs');
  }
  const leg = ctx.legs.leg(id);
  const participant = leg && owner(leg);
  if (!leg || !participant) throw new RestFailure(stale, 'callLegDoesNotExist');
  return legXml(leg, participant);
}
