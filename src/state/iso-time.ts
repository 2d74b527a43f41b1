// ISO-8601 timestamps for events. toISOString costs ~0.7 µs; at thousands of messages a second
// most fall in the same millisecond as the one before, so the last string is reused (a cache of
// one, shared by every server of the process: the same millisecond gives the same string).
let lastMs = Number.NaN;
let lastIso = '';

export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
