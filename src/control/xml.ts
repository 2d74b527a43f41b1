// Reading the CMS REST API's XML answers with a real XML parser (xml-tree.ts), never with
// regular expressions: the failureDetails of a refusal, and the id-carrying children of a list.
import { leavesOf, readXmlTree, type XmlElement } from '../xml-tree.js';

/** The root element when it is named `name`; undefined for anything else, or text that is not XML. */
function rootNamed(text: string, name: string): XmlElement | undefined {
  try {
    const root = readXmlTree(text);
    return root?.name === name ? root : undefined;
  } catch {
    return undefined;
  }
}

/** The failureDetails child (its name is the code) and its attributes; undefined when there is none. */
export function readFailure(text: string): { code: string; details: Record<string, string> } | undefined {
  const child = rootNamed(text, 'failureDetails')?.children[0];
  if (child === undefined) return undefined;
  return { code: child.name, details: leavesOf(child) };
}

/**
 * The `id` attributes of the `<item>` children of `<collection>`: a list even with one child
 * (the API writes one child the same way as many).
 */
export function readIds(text: string, collection: string, item: string): { ids: string[]; total: number } {
  const node = rootNamed(text, collection);
  if (node === undefined) return { ids: [], total: 0 };
  const ids = node.children.filter((child) => child.name === item).map((child) => child.attributes.id).filter((id): id is string => id !== undefined);
  const total = Number(node.attributes.total);
  return { ids, total: node.attributes.total !== undefined && Number.isFinite(total) ? total : ids.length };
}

/** The text of `<root><child>` (e.g. a participant's callBridge); undefined when absent or empty. */
export function readChildText(text: string, root: string, child: string): string | undefined {
  const value = rootNamed(text, root)?.children.find((element) => element.name === child)?.text.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The leaf elements of `<root>` as strings (e.g. /system/status); empty when there is no such root. */
export function readLeaves(text: string, root: string): Record<string, string> {
  const node = rootNamed(text, root);
  return node === undefined ? {} : leavesOf(node);
}

/** The `<item>` children of `<collection>` with their id and leaf elements, the total, and the collection's own attributes (e.g. `maximum`). */
export function readItems(text: string, collection: string, item: string): { items: Array<Record<string, string>>; total: number; attributes: Record<string, string> } {
  const node = rootNamed(text, collection);
  if (node === undefined) return { items: [], total: 0, attributes: {} };
  const items = node.children.filter((child) => child.name === item).map(leavesOf);
  const total = Number(node.attributes.total);
  return { items, total: node.attributes.total !== undefined && Number.isFinite(total) ? total : items.length, attributes: { ...node.attributes } };
}
