// Reading the CMS REST API's XML answers with a real XML parser (fast-xml-parser), never with
// regular expressions: the failureDetails of a refusal, and the id-carrying children of a list.
import { XMLParser } from 'fast-xml-parser';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, parseTagValue: false });

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);

function parse(text: string): Node | undefined {
  try {
    const parsed: unknown = parser.parse(text);
    return isNode(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The failureDetails child (its name is the code) and its attributes; undefined when there is none. */
export function readFailure(text: string): { code: string; details: Record<string, string> } | undefined {
  const failure = parse(text)?.failureDetails;
  if (!isNode(failure)) return undefined;
  const code = Object.keys(failure)[0];
  if (code === undefined) return undefined;
  const details: Record<string, string> = {};
  const child = failure[code];
  if (isNode(child)) for (const [key, value] of Object.entries(child)) if (typeof value === 'string') details[key] = value;
  return { code, details };
}

/**
 * The `id` attributes of the `<item>` children of `<collection>`: a list even with one child
 * (the API writes one child the same way as many).
 */
export function readIds(text: string, collection: string, item: string): { ids: string[]; total: number } {
  const node = parse(text)?.[collection];
  if (!isNode(node)) return { ids: [], total: 0 };
  const children = node[item];
  const list = Array.isArray(children) ? children : children === undefined ? [] : [children];
  const ids = list.filter(isNode).map((child) => child.id).filter((id): id is string => typeof id === 'string');
  const total = Number(node.total);
  return { ids, total: Number.isFinite(total) ? total : ids.length };
}

/** The text of `<root><child>` (e.g. a participant's callBridge); undefined when absent or empty. */
export function readChildText(text: string, root: string, child: string): string | undefined {
  const node = parse(text)?.[root];
  if (!isNode(node)) return undefined;
  const value = node[child];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The leaf elements of `<root>` as strings (e.g. /system/status); empty when there is no such root. */
export function readLeaves(text: string, root: string): Record<string, string> {
  const node = parse(text)?.[root];
  const leaves: Record<string, string> = {};
  if (!isNode(node)) return leaves;
  for (const [key, value] of Object.entries(node)) if (typeof value === 'string') leaves[key] = value;
  return leaves;
}

/** The `<item>` children of `<collection>` with their id and leaf elements, the total, and the collection's own attributes (e.g. `maximum`). */
export function readItems(text: string, collection: string, item: string): { items: Array<Record<string, string>>; total: number; attributes: Record<string, string> } {
  const node = parse(text)?.[collection];
  if (!isNode(node)) return { items: [], total: 0, attributes: {} };
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(node)) if (key !== item && typeof value === 'string') attributes[key] = value;
  const children = node[item];
  const list = Array.isArray(children) ? children : children === undefined ? [] : [children];
  const items = list.filter(isNode).map((child) => {
    const leaves: Record<string, string> = {};
    for (const [key, value] of Object.entries(child)) if (typeof value === 'string') leaves[key] = value;
    return leaves;
  });
  const total = Number(node.total);
  return { items, total: Number.isFinite(total) ? total : items.length, attributes };
}
