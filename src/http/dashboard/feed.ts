// The event stream: one EventSource on /api/events that comes back by itself. The browser
// retries a dropped stream on its own; when it gives up (the daemon answered with an error while
// restarting) a new one is opened after a capped backoff. Every (re)open is reported so that the
// caller reloads the snapshot: events from while the stream was down are not replayed.
import type { CmsEvent } from './api.js';

export type FeedStatus = 'connecting' | 'live' | 'reconnecting';

export interface FeedHandlers {
  onOpen(): void;
  onEvent(event: CmsEvent): void;
  onStatus(status: FeedStatus): void;
}

export interface Feed {
  close(): void;
}

const RETRY_INITIAL_MS = 1000;
const RETRY_MAX_MS = 15_000;

export function openFeed(url: string, handlers: FeedHandlers): Feed {
  let source: EventSource | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retryMs = RETRY_INITIAL_MS;
  let closed = false;

  const open = (): void => {
    const current = new EventSource(url);
    source = current;
    current.onopen = () => {
      retryMs = RETRY_INITIAL_MS;
      handlers.onStatus('live');
      handlers.onOpen();
    };
    current.onmessage = (message: MessageEvent<string>) => {
      let event: CmsEvent;
      try {
        event = JSON.parse(message.data) as CmsEvent;
      } catch {
        return;
      }
      if (event && typeof event === 'object' && typeof event.type === 'string') handlers.onEvent(event);
    };
    current.onerror = () => {
      if (closed || source !== current) return;
      handlers.onStatus('reconnecting');
      if (current.readyState !== EventSource.CLOSED) return;
      current.close();
      source = null;
      retryTimer = setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    };
  };

  handlers.onStatus('connecting');
  open();
  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      source?.close();
      source = null;
    },
  };
}
