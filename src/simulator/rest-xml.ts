// How the simulated bridge writes its REST answers: XML with `<?xml version="1.0"?>`, collections
// with a `total` attribute and an `id` attribute on each child, every value escaped.
import type { LegRecord } from './call-legs.js';
import type { AlarmInfo, CallBridgeInfo, SystemStatus } from './types.js';
import type { CallRecord, ParticipantRecord } from './world.js';

export const XML_DECLARATION = '<?xml version="1.0"?>';

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' } as const)[c as '&']};`);
}

export type Attributes = Record<string, string | number | undefined>;

function attributes(attrs: Attributes): string {
  return Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

/** `<name attrs>children</name>`; children are elements already written, or a text value. */
export function element(name: string, attrs: Attributes, children: string | string[]): string {
  const inner = Array.isArray(children) ? children.join('') : children;
  return inner === '' ? `<${name}${attributes(attrs)} />` : `<${name}${attributes(attrs)}>${inner}</${name}>`;
}

/** A leaf element holding a text value; left out when the value is null or undefined. */
export function leaf(name: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function failureXml(code: string, attrs: Attributes = {}): string {
  return `${XML_DECLARATION}<failureDetails>${element(code, attrs, '')}</failureDetails>`;
}

export function collectionXml(name: string, total: number, children: string[]): string {
  return `${XML_DECLARATION}<${name} total="${total}">${children.join('')}</${name}>`;
}

const active = (value: unknown): boolean => value === 'active';

export function callSummary(call: CallRecord): string {
  return element('call', { id: call.id }, [leaf('name', call.fields.name), leaf('callCorrelator', call.fields.callCorrelator)]);
}

export function callXml(call: CallRecord, legCount: number): string {
  const f = call.fields;
  return XML_DECLARATION + element('call', { id: call.id }, [
    leaf('name', f.name),
    leaf('callCorrelator', f.callCorrelator),
    leaf('numCallLegs', legCount),
    leaf('numParticipantsLocal', [...call.roster.values()].filter((p) => p.callBridge === undefined).length),
    leaf('numDistributedInstances', f.distributedInstances),
    leaf('locked', f.lockState === 'locked'),
    leaf('recording', active(f.recording)),
    leaf('streaming', active(f.streaming)),
    leaf('joinAudioMuteOverride', f.joinAudioMuteOverride),
  ]);
}

/** A participant hosted on another bridge of the cluster names it in `<callBridge>`; local ones have none. */
export function participantSummary(callId: string, participant: ParticipantRecord): string {
  return element('participant', { id: participant.id }, [leaf('name', participant.fields.name), leaf('call', callId), leaf('callBridge', participant.callBridge)]);
}

export function participantXml(callId: string, participant: ParticipantRecord, legCount: number): string {
  const f = participant.fields;
  return XML_DECLARATION + element('participant', { id: participant.id }, [
    leaf('name', f.name),
    leaf('call', callId),
    leaf('callBridge', participant.callBridge),
    element('configuration', {}, [leaf('importance', f.importance)]),
    element('status', {}, [leaf('state', f.state), leaf('direction', f.direction), leaf('remoteParty', f.uri), leaf('numCallLegs', legCount)]),
  ]);
}

export function callBridgeSummary(bridge: CallBridgeInfo): string {
  return element('callBridge', { id: bridge.id }, [leaf('name', bridge.name)]);
}

export function legSummary(leg: LegRecord, participant: ParticipantRecord): string {
  return element('callLeg', { id: leg.id }, [leaf('name', participant.fields.name), leaf('remoteParty', participant.fields.uri), leaf('call', leg.callId)]);
}

export function legXml(leg: LegRecord, participant: ParticipantRecord): string {
  const f = participant.fields;
  return XML_DECLARATION + element('callLeg', { id: leg.id }, [
    leaf('name', f.name),
    leaf('remoteParty', f.uri),
    leaf('call', leg.callId),
    leaf('participant', leg.participantId),
    element('configuration', {}, [leaf('rxAudioMute', f.audioMuted), leaf('rxVideoMute', f.videoMuted), leaf('chosenLayout', f.layout), leaf('importance', f.importance)]),
    element('status', {}, [leaf('state', f.state), leaf('direction', f.direction)]),
  ]);
}

/** The elements of GET /system/status, in the order a CMS writes them. */
const STATUS_ELEMENTS: ReadonlyArray<keyof SystemStatus> = [
  'softwareVersion', 'uptimeSeconds', 'activated', 'clusterEnabled', 'cdrTime', 'callLegsActive', 'callLegsMaxActive', 'callLegsCompleted',
  'audioBitRateOutgoing', 'videoBitRateOutgoing', 'audioBitRateIncoming', 'videoBitRateIncoming',
];

export function statusXml(status: SystemStatus): string {
  return XML_DECLARATION + element('status', {}, STATUS_ELEMENTS.map((name) => leaf(name, status[name])));
}

export function alarmSummary(alarm: AlarmInfo): string {
  return element('alarm', { id: alarm.id }, [leaf('type', alarm.type), leaf('activeTimeSeconds', alarm.activeTimeSeconds), leaf('failureReason', alarm.failureReason)]);
}
