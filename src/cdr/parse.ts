// A CMS's CDR POST body, read with the XML parser (never with regular expressions): the
// `<records session callBridge?>` envelope and each `<record type time recordIndex
// correlatorIndex numPreceedingRecordsMissing?>` with its one `<call|callLeg|recording|streaming
// id>` child. Fields are typed by name, not by how a value looks (a `remoteParty` of digits is
// still a string): counts and durations as numbers, flags as booleans, `alarm` elements as
// `alarms: [{ type, durationPercentage }]`, nested groups (`rxAudio`, `mediaUsagePercentages`,
// …) as objects, an empty `<ivr/>` as `ivr: true`. Unknown elements are kept as strings (or
// objects), never dropped. Never throws: a body that is not such a document is a problem in words.
import { XMLParser } from 'fast-xml-parser';
import type { CdrDocument, CdrRecord } from '../state/cdr-ledger.js';
import type { CdrValue } from '../state/events.js';

export type { CdrDocument, CdrRecord, CdrValue };

export type ParsedCdrBody =
  | ({ ok: true } & CdrDocument)
  | { ok: false; problem: string };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  // Several records, and several alarms in one leg, are lists however many there are.
  isArray: (name) => name === 'record' || name === 'alarm',
});

/** Fields that are numbers wherever they appear. */
const NUMBERS = new Set([
  'durationSeconds', 'callLegsCompleted', 'callLegsMaxActive', 'activatedDuration', 'mainVideoViewer', 'mainVideoContributor',
  'presentationContributor', 'multiStreamVideo', 'maxSizeWidth', 'maxSizeHeight', 'duration', 'density', 'durationPercentage',
]);
/** Fields that are true/false. */
const BOOLEANS = new Set([
  'remoteTeardown', 'guestConnection', 'recording', 'streaming', 'canMove', 'deactivated', 'endpointRecorded', 'encryptedMedia',
  'unencryptedMedia', 'movedCallLeg', 'callMove',
]);

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);

function typed(name: string, value: unknown): CdrValue {
  if (typeof value === 'string') {
    if (NUMBERS.has(name) && value !== '' && Number.isFinite(Number(value))) return Number(value);
    if (BOOLEANS.has(name) && (value === 'true' || value === 'false')) return value === 'true';
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => typed(name, item));
  if (isNode(value)) {
    const out: Record<string, CdrValue> = {};
    for (const [key, child] of Object.entries(value)) out[key.startsWith('@') ? key.slice(1) : key] = typed(key.startsWith('@') ? key.slice(1) : key, child);
    return out;
  }
  return String(value);
}

/** The child element's fields, typed; `alarm` elements become `alarms`, an empty element a flag. */
function fieldsOf(node: Node): Record<string, CdrValue> {
  const fields: Record<string, CdrValue> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@')) continue;
    if (key === 'alarm') {
      fields.alarms = (value as unknown[]).filter(isNode).map((alarm) => ({
        type: String(alarm['@type'] ?? ''),
        durationPercentage: Number.isFinite(Number(alarm['@durationPercentage'])) ? Number(alarm['@durationPercentage']) : 0,
      }));
      continue;
    }
    // An empty element (`<ivr/>`, an empty `<ownerName/>` reads as ''): a flag only where it can carry nothing else.
    fields[key] = key === 'ivr' && value === '' ? true : typed(key, value);
  }
  return fields;
}

const whole = (value: unknown): number | null => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : null);

export function parseCdrBody(text: string): ParsedCdrBody {
  let document: unknown;
  try {
    document = parser.parse(text, true);
  } catch (error) {
    return { ok: false, problem: `not well-formed XML (${(error as Error).message.split('\n')[0]})` };
  }
  const found = isNode(document) ? document.records : undefined;
  // An element with neither attributes nor children reads as '': it is there, just empty.
  const root = found === '' ? {} : found;
  if (!isNode(root)) return { ok: false, problem: 'no <records> element' };
  const session = root['@session'];
  if (typeof session !== 'string' || session === '') return { ok: false, problem: '<records> has no session attribute' };
  const callBridge = typeof root['@callBridge'] === 'string' ? (root['@callBridge'] as string) : null;
  const records: CdrRecord[] = [];
  for (const [index, item] of ((root.record as unknown[] | undefined) ?? []).entries()) {
    if (!isNode(item)) return { ok: false, problem: `record ${index + 1} is empty` };
    const type = item['@type'];
    const time = item['@time'];
    const recordIndex = whole(item['@recordIndex']);
    if (typeof type !== 'string' || type === '') return { ok: false, problem: `record ${index + 1} has no type` };
    if (typeof time !== 'string') return { ok: false, problem: `record ${index + 1} (${type}) has no time` };
    if (recordIndex === null) return { ok: false, problem: `record ${index + 1} (${type}) has no recordIndex` };
    const children = Object.entries(item).filter(([key]) => !key.startsWith('@'));
    const [element, child] = children[0] ?? ['', undefined];
    if (children.length !== 1 || !isNode(child) && child !== '') return { ok: false, problem: `record ${recordIndex} (${type}) does not hold exactly one element` };
    const node: Node = isNode(child) ? child : {};
    const elementId = typeof node['@id'] === 'string' ? (node['@id'] as string) : '';
    records.push({
      type,
      time,
      recordIndex,
      correlatorIndex: whole(item['@correlatorIndex']),
      missingBefore: whole(item['@numPreceedingRecordsMissing']) ?? 0,
      element,
      elementId,
      fields: fieldsOf(node),
    });
  }
  return { ok: true, session, callBridge, records };
}
