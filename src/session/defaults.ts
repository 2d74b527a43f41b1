// Session timings: the defaults live in src/defaults.ts with the other tuning constants.
import { SESSION_TIMINGS, type SessionTimings } from '../defaults.js';

export const DEFAULT_TIMINGS = SESSION_TIMINGS;

/** The defaults overlaid with the given overrides (undefined values keep the default). */
export function resolveTimings(overrides: Partial<SessionTimings> = {}): SessionTimings {
  const timings = { ...DEFAULT_TIMINGS };
  for (const key of Object.keys(overrides) as (keyof SessionTimings)[]) {
    const value = overrides[key];
    if (value !== undefined) timings[key] = value;
  }
  return timings;
}
