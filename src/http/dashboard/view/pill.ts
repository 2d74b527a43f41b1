// A small labelled flag (Recording, Mic off, Speaking…), the same on calls and participants.
import { h } from '../dom.js';

export function pill(text: string, kind: string, testid: string): HTMLElement {
  return h('span', { class: `pill pill--${kind}`, testid }, text);
}
