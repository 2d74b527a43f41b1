// Session timings in one place; SessionOptions.timings overrides any of them.
import type { SessionTimings } from './types.js';

export const DEFAULT_TIMINGS: Readonly<SessionTimings> = Object.freeze({
  connectTimeoutMs: 10_000,
  subscribeTimeoutMs: 15_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 60_000,
  authFailureRetryMs: 60_000,
  backoffResetAfterMs: 30_000,
  snapshotQuietMs: 300,
  pingIntervalMs: 30_000,
  closeGraceMs: 1_000,
});

/** The defaults overlaid with the given overrides (undefined values keep the default). */
export function resolveTimings(overrides: Partial<SessionTimings> = {}): SessionTimings {
  const timings = { ...DEFAULT_TIMINGS };
  for (const key of Object.keys(overrides) as (keyof SessionTimings)[]) {
    const value = overrides[key];
    if (value !== undefined) timings[key] = value;
  }
  return timings;
}
