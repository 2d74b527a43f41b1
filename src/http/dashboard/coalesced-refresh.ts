// A refresh asked for often (after bursts of events) but worth doing rarely: the asks within a
// short delay are served by one run, and never more than one run is in flight; an ask during a
// run is served by one more run after it, so the last ask always sees a fresh answer.

/** Returns the function to ask for a refresh; `run` must not throw. */
export function coalescedRefresh(run: () => Promise<void>, delayMs: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let askedWhileRunning = false;

  const start = (): void => {
    timer = undefined;
    running = true;
    void run().finally(() => {
      running = false;
      if (askedWhileRunning) {
        askedWhileRunning = false;
        ask();
      }
    });
  };

  const ask = (): void => {
    if (running) askedWhileRunning = true;
    else timer ??= setTimeout(start, delayMs);
  };
  return ask;
}
