// The only way the dashboard makes elements: text goes through text nodes and attributes through
// setAttribute, never through HTML parsing, so nothing the daemon sends can become markup.

export type Child = Node | string | number | null | undefined | false | readonly Child[];

export interface Props {
  class?: string;
  /** data-testid */
  testid?: string;
  /** data-* attributes, keys without the prefix. */
  data?: Record<string, string | number | boolean | null | undefined>;
  attrs?: Record<string, string | number | boolean | null | undefined>;
  title?: string;
  hidden?: boolean;
  onClick?: (event: Event) => void;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props) {
    if (props.class) element.className = props.class;
    if (props.testid) element.dataset.testid = props.testid;
    if (props.title) element.title = props.title;
    if (props.hidden) element.hidden = true;
    for (const [key, value] of Object.entries(props.data ?? {})) {
      if (value !== null && value !== undefined && value !== false) element.dataset[key] = String(value);
    }
    for (const [name, value] of Object.entries(props.attrs ?? {})) {
      if (value === true) element.setAttribute(name, '');
      else if (value !== null && value !== undefined && value !== false) element.setAttribute(name, String(value));
    }
    if (props.onClick) element.addEventListener('click', props.onClick);
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the text of an element, only when it differs (no needless layout). */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
