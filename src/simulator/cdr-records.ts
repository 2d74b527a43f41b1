// How the simulated bridge writes its CDRs (call detail records): the `<records>` envelope of one
// POST, each `<record>` with its attributes, and the one element of each record type (call,
// callLeg, recording, streaming) with the fields a CMS writes, in its order and spelling. Pure
// text: which record is made when is cdr-calls.ts's job, delivering them cdr-pusher.ts's. Media
// figures of a callLegEnd are made up, but from a generator seeded by the leg id, so a leg always
// ends with the same ones.
import { seededRandom } from './seeded-random.js';
import { element, escapeXml, leaf, XML_DECLARATION } from './rest-xml.js';

/** One generated record, the same for every receiver (each gives it its own recordIndex). */
export interface CdrRecord {
  /** callStart, callLegEnd, … */
  readonly type: string;
  /** RFC 3339 to the second, UTC. */
  readonly time: string;
  readonly correlatorIndex: number;
  /** The record's one element, written: `<callLeg id="…">…</callLeg>`. */
  readonly xml: string;
  /** Travels in the same POST as the record after it whenever a batch can hold both (a call's last callLegEnd and its callEnd). */
  readonly tiedToNext: boolean;
}

/** A record as one receiver gets it. */
export interface CdrEntry {
  readonly record: CdrRecord;
  readonly recordIndex: number;
  /** Records discarded just before this one (0: none). */
  missingBefore: number;
}

/** What a call record names. */
export interface CallFacts {
  id: string;
  name: string;
  coSpace: string;
  callCorrelator: string;
  callType: string;
}

/** What a callLeg record names. */
export interface LegFacts {
  id: string;
  /** The participant id: the leg's groupId. */
  participantId: string;
  displayName: string;
  localAddress: string;
  remoteParty: string;
  remoteAddress: string;
  direction: string;
  sipCallId: string;
  canMove: boolean;
}

/** `time` as a CMS writes it: 2026-12-03T10:09:08Z. */
export function cdrTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function recordXml(entry: CdrEntry): string {
  const { record } = entry;
  const missing = entry.missingBefore > 0 ? ` numPreceedingRecordsMissing="${entry.missingBefore}"` : '';
  return `<record type="${escapeXml(record.type)}" time="${record.time}" recordIndex="${entry.recordIndex}" correlatorIndex="${record.correlatorIndex}"${missing}>${record.xml}</record>`;
}

/** The body of one POST: the envelope around the entries, in order. */
export function recordsBody(session: string, callBridge: string | undefined, entries: readonly CdrEntry[]): string {
  const bridge = callBridge === undefined ? '' : ` callBridge="${escapeXml(callBridge)}"`;
  return `${XML_DECLARATION}\n<records session="${escapeXml(session)}"${bridge}>\n${entries.map(recordXml).join('\n')}\n</records>\n`;
}

export function callStartXml(call: CallFacts): string {
  return element('call', { id: call.id }, [
    leaf('name', call.name),
    leaf('ownerName', ''),
    leaf('callType', call.callType),
    leaf('coSpace', call.coSpace),
    leaf('tenant', ''),
    leaf('cdrTag', ''),
    leaf('callCorrelator', call.callCorrelator),
  ]);
}

export function callEndXml(callId: string, figures: { completed: number; maxActive: number; durationSeconds: number }): string {
  return element('call', { id: callId }, [
    leaf('callLegsCompleted', figures.completed),
    leaf('callLegsMaxActive', figures.maxActive),
    leaf('durationSeconds', figures.durationSeconds),
  ]);
}

/** `callId` only when the leg is in its call from the start (a dial-out); a leg that dials in starts without it. */
export function callLegStartXml(leg: LegFacts, callId: string | undefined): string {
  return element('callLeg', { id: leg.id }, [
    leaf('displayName', leg.displayName),
    leaf('localAddress', leg.localAddress),
    leaf('remoteParty', leg.remoteParty),
    leaf('remoteAddress', leg.remoteAddress),
    leaf('type', 'sip'),
    leaf('direction', leg.direction),
    leaf('sipCallId', leg.sipCallId),
    leaf('groupId', leg.participantId),
    leaf('canMove', leg.canMove),
    leaf('call', callId),
  ]);
}

/** Connected, either in the IVR (`callId` undefined: an empty `<ivr/>`) or in its call. */
export function callLegUpdateXml(leg: LegFacts, callId: string | undefined): string {
  return element('callLeg', { id: leg.id }, [
    leaf('state', 'connected'),
    callId === undefined ? '<ivr/>' : leaf('call', callId),
    leaf('groupId', leg.participantId),
    callId === undefined ? '' : leaf('deactivated', false),
    leaf('displayName', leg.displayName),
    leaf('remoteAddress', leg.remoteAddress),
    leaf('confirmationStatus', 'notRequired'),
  ]);
}

const ALARM_TYPES = ['packetLoss', 'excessiveJitter', 'highRoundTripTime'] as const;

/** One decimal, as a CMS writes percentages and burst figures. */
const tenth = (value: number): string => (Math.round(value * 10) / 10).toFixed(1);

function seedOf(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}

function packetStatistics(random: () => number): string {
  return element('packetStatistics', {}, [
    element('packetLossBursts', {}, [leaf('duration', tenth(random() * 3)), leaf('density', tenth(random() * 10))]),
    element('packetGap', {}, [leaf('duration', tenth(random() * 2)), leaf('density', tenth(random() * 5))]),
  ]);
}

/**
 * The end of a leg: `callEnded` when its call ended under it, `remoteTeardown` when the far end
 * left. No groupId and no call, as on a real CMS: a receiver knows them from the leg's earlier records.
 */
export function callLegEndXml(leg: LegFacts, end: { callEnded: boolean; durationSeconds: number; activatedDuration: number }): string {
  const random = seededRandom(seedOf(leg.id));
  const alarms = ALARM_TYPES.filter(() => random() < 0.3).map((type) => `<alarm type="${type}" durationPercentage="${tenth(random() * 5)}"/>`);
  const encrypted = random() < 0.8;
  const video = (direction: 'rx' | 'tx') => {
    const wide = random() < 0.5;
    return element(`${direction}Video`, {}, [leaf('codec', 'h264'), leaf('maxSizeWidth', wide ? 1920 : 1280), leaf('maxSizeHeight', wide ? 1080 : 720), packetStatistics(random)]);
  };
  return element('callLeg', { id: leg.id }, [
    leaf('reason', end.callEnded ? 'callEnded' : 'remoteTeardown'),
    leaf('remoteTeardown', !end.callEnded),
    leaf('durationSeconds', end.durationSeconds),
    leaf('activatedDuration', end.activatedDuration),
    element('mediaUsagePercentages', {}, [
      leaf('mainVideoViewer', tenth(90 + random() * 10)),
      leaf('mainVideoContributor', tenth(80 + random() * 20)),
      leaf('presentationContributor', tenth(random() * 20)),
      leaf('multiStreamVideo', tenth(random() * 10)),
    ]),
    ...alarms,
    leaf('encryptedMedia', encrypted),
    leaf('unencryptedMedia', !encrypted),
    element('rxAudio', {}, [leaf('codec', 'opus'), packetStatistics(random)]),
    element('txAudio', {}, [leaf('codec', 'opus')]),
    video('rx'),
    video('tx'),
    leaf('sipCallId', leg.sipCallId),
  ]);
}

export function recordingStartXml(id: string, fields: { path: string; recorderUrl: string; callId: string; callLegId: string }): string {
  return element('recording', { id }, [leaf('path', fields.path), leaf('recorderUrl', fields.recorderUrl), leaf('call', fields.callId), leaf('callLeg', fields.callLegId)]);
}

export function streamingStartXml(id: string, fields: { streamUrl: string; streamerUrl: string; callId: string; callLegId: string }): string {
  return element('streaming', { id }, [leaf('streamUrl', fields.streamUrl), leaf('streamerUrl', fields.streamerUrl), leaf('call', fields.callId), leaf('callLeg', fields.callLegId)]);
}

/** recordingEnd and streamingEnd name only the id. */
export function endOfXml(name: 'recording' | 'streaming', id: string): string {
  return `<${name} id="${escapeXml(id)}"/>`;
}

/** A made-up but stable address for a far end: 10.x.y.z from its id. */
export function remoteAddressOf(id: string): string {
  const seed = seedOf(id);
  return `10.${(seed >>> 16) & 0xff}.${(seed >>> 8) & 0xff}.${Math.max(1, seed & 0xff)}`;
}
