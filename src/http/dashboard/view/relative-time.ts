// Times shown relative to now ("12 s ago", "for 3 min", "in 20 s"). Each carries its mode and
// instant in the element, so a once-a-second refresh rewrites the words without the model.
import { h, setText } from '../dom.js';
import { dateTime, relativeTime, spanInWords } from '../format.js';

export type RelativeMode = 'ago' | 'for' | 'until';

export function timeElement(mode: RelativeMode, iso: string, now: number): HTMLTimeElement {
  return h(
    'time',
    { data: { rel: mode }, attrs: { datetime: iso }, title: dateTime(iso) },
    relativeText(mode, iso, now),
  );
}

/** Rewrites every relative time under `root` for the instant `now`. */
export function refreshRelativeTimes(root: ParentNode, now: number): void {
  for (const element of root.querySelectorAll<HTMLTimeElement>('time[data-rel]')) {
    setText(element, relativeText(element.dataset.rel ?? '', element.dateTime, now));
  }
}

function relativeText(mode: string, iso: string, now: number): string {
  if (mode === 'for') {
    const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    return Number.isNaN(seconds) ? '' : `for ${spanInWords(seconds)}`;
  }
  if (mode === 'until') {
    const text = relativeTime(iso, now);
    return text.startsWith('in ') ? text : 'now';
  }
  return relativeTime(iso, now);
}
