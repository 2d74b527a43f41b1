// Reads a Server-Sent Events stream (GET /api/events) as it arrives, for tests.
export interface EventStream {
  response: Response;
  /** Everything received so far. */
  text(): string;
  /** The `data:` JSON of every complete message received so far. */
  events(): Array<Record<string, unknown> & { type: string }>;
  close(): Promise<void>;
}

export async function openEventStream(url: string): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.getReader();
  let received = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      received += Buffer.from(value).toString('utf8');
    }
  })().catch(() => {});
  return {
    response,
    text: () => received,
    events: () =>
      received
        .split('\n\n')
        .map((frame) => frame.split('\n').find((line) => line.startsWith('data: ')))
        .filter((line): line is string => line !== undefined)
        .map((line) => JSON.parse(line.slice(6))),
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}
