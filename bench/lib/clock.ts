// One wall clock for every process of a run. performance.timeOrigin is taken from the system
// clock at process start with sub-millisecond precision, so timeOrigin + now() taken in two
// processes on this machine can be subtracted (the latency benchmark relies on it).
export const wallNow = (): number => performance.timeOrigin + performance.now();

// The polling helpers are the tests' own: one implementation for tests and benchmarks.
export { sleep, waitFor } from '../../test/helpers/wait.js';

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
