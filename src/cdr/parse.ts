// A CMS's CDR POST body, read with a strict XML parser (never with regular expressions): the
// `<records session callBridge?>` envelope and each `<record type time recordIndex
// correlatorIndex numPreceedingRecordsMissing?>` with its one `<call|callLeg|recording|streaming
// id>` child. Fields are typed by name, not by how a value looks (a `remoteParty` of digits is
// still a string): counts and durations as numbers, flags as booleans, `alarm` elements as
// `alarms: [{ type, durationPercentage }]`, nested groups (`rxAudio`, `mediaUsagePercentages`,
// …) as objects, an empty `<ivr/>` as `ivr: true`. Unknown elements are kept as strings (or
// objects), never dropped. Never throws: a body that is not such a document is a problem in words.
//
// saxes checks well-formedness as it reads, in one pass (xml-tree.ts builds the tree):
// about five times cheaper than a general XML-to-object parser with its validation pass, which
// cost half the receiver's time per record (BENCHMARKS.md, "CDR receiver").
import { readXmlTree, type XmlElement as Element } from '../xml-tree.js';
import type { CdrDocument, CdrRecord } from '../state/cdr-ledger.js';
import type { CdrValue } from '../state/events.js';

export type { CdrDocument, CdrRecord, CdrValue };

export type ParsedCdrBody =
  | ({ ok: true } & CdrDocument)
  | { ok: false; problem: string };

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

function typed(name: string, value: string): CdrValue {
  if (NUMBERS.has(name) && value !== '' && Number.isFinite(Number(value))) return Number(value);
  if (BOOLEANS.has(name) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** An element's value: its text, typed by its name, or, with attributes or children, an object of them. */
function valueOf(element: Element): CdrValue {
  const attributeNames = Object.keys(element.attributes);
  if (element.children.length === 0 && attributeNames.length === 0) return typed(element.name, element.text.trim());
  const out: Record<string, CdrValue> = {};
  for (const name of attributeNames) out[name] = typed(name, element.attributes[name]!);
  addChildren(out, element.children);
  const text = element.text.trim();
  if (text !== '') out['#text'] = typed(element.name, text);
  return out;
}

/** Children as fields: a name met twice becomes a list; `alarm` elements are `alarms`; an empty `<ivr/>` a flag. */
function addChildren(fields: Record<string, CdrValue>, children: readonly Element[]): void {
  for (const child of children) {
    if (child.name === 'alarm') {
      const alarms = (fields.alarms ??= []) as CdrValue[];
      const percentage = Number(child.attributes.durationPercentage);
      alarms.push({ type: child.attributes.type ?? '', durationPercentage: Number.isFinite(percentage) ? percentage : 0 });
      continue;
    }
    const value = child.name === 'ivr' && child.children.length === 0 && child.text.trim() === '' ? true : valueOf(child);
    const earlier = fields[child.name];
    if (earlier === undefined) fields[child.name] = value;
    else if (Array.isArray(earlier)) earlier.push(value);
    else fields[child.name] = [earlier, value];
  }
}

const whole = (value: string | undefined): number | null => (value !== undefined && /^\d+$/.test(value) ? Number(value) : null);

export function parseCdrBody(text: string): ParsedCdrBody {
  let root: Element | undefined;
  try {
    // Whitespace (or a byte order mark) before the XML declaration is tolerated, as receivers
    // commonly do; strict XML allows nothing there.
    root = readXmlTree(text.trimStart());
  } catch (error) {
    return { ok: false, problem: `not well-formed XML (${(error as Error).message.split('\n')[0]})` };
  }
  if (root === undefined) return { ok: false, problem: 'not well-formed XML (no element)' };
  if (root.name !== 'records') return { ok: false, problem: 'no <records> element' };
  const session = root.attributes.session;
  if (session === undefined || session === '') return { ok: false, problem: '<records> has no session attribute' };
  const callBridge = root.attributes.callBridge ?? null;
  const records: CdrRecord[] = [];
  for (const [index, item] of root.children.entries()) {
    if (item.name !== 'record') continue;
    const { type, time } = item.attributes;
    const recordIndex = whole(item.attributes.recordIndex);
    if (type === undefined || type === '') return { ok: false, problem: `record ${index + 1} has no type` };
    if (time === undefined) return { ok: false, problem: `record ${index + 1} (${type}) has no time` };
    if (recordIndex === null) return { ok: false, problem: `record ${index + 1} (${type}) has no recordIndex` };
    if (item.children.length !== 1) return { ok: false, problem: `record ${recordIndex} (${type}) does not hold exactly one element` };
    const child = item.children[0]!;
    const fields: Record<string, CdrValue> = {};
    addChildren(fields, child.children);
    records.push({
      type,
      time,
      recordIndex,
      correlatorIndex: whole(item.attributes.correlatorIndex),
      missingBefore: whole(item.attributes.numPreceedingRecordsMissing) ?? 0,
      element: child.name,
      elementId: child.attributes.id ?? '',
      fields,
    });
  }
  return { ok: true, session, callBridge, records };
}
