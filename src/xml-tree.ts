// XML read with a strict parser (saxes: one pass, well-formedness checked as it reads) into a
// small tree of elements, for the two kinds of XML a CMS sends: REST answers (control/xml.ts) and
// CDR bodies (cdr/parse.ts). Never with regular expressions.
import { SaxesParser, type SaxesTagPlain } from 'saxes';

/** One element: its attributes, its child elements in order, and its text. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** The document's root element; throws the parser's error on anything not well-formed. */
export function readXmlTree(text: string): XmlElement | undefined {
  const parser = new SaxesParser();
  let root: XmlElement | undefined;
  const open: XmlElement[] = [];
  parser.on('opentag', (tag: SaxesTagPlain) => {
    const element: XmlElement = { name: tag.name, attributes: tag.attributes, children: [], text: '' };
    const parent = open[open.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
    open.push(element);
  });
  parser.on('closetag', () => {
    open.pop();
  });
  const addText = (chunk: string): void => {
    const current = open[open.length - 1];
    if (current) current.text += chunk;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('error', (error: Error) => {
    throw error;
  });
  parser.write(text).close();
  return root;
}

/** The element's attributes and the text of its children that have none of their own, as strings. */
export function leavesOf(element: XmlElement): Record<string, string> {
  const leaves: Record<string, string> = { ...element.attributes };
  for (const child of element.children) if (child.children.length === 0) leaves[child.name] = child.text.trim();
  return leaves;
}
