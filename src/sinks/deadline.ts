// Waiting on client libraries whose operations cannot be cancelled: the wait ends, the
// operation goes on (and its result is ignored).

/** `promise`, or a rejection after `ms` or when `signal` aborts (the operation itself goes on). */
export function withDeadline<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      reject(new Error('aborted: the sink is closing'));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no reply within ${ms} ms`));
    }, ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        finish();
        resolve(value);
      },
      (error: unknown) => {
        finish();
        reject(error);
      },
    );
  });
}
