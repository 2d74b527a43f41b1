// What a handler knows about where its event came from. AsyncLocalStorage carries it through
// any async work the handler starts, however deep, so that work can reach "its" server without
// a registry keyed by task (the workaround the original PHP system needed).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import type { CmsClient } from '../control/cms-client.js';
import type { PerCallType } from '../session/subscription-set.js';
import type { SessionStatus } from '../session/types.js';

/** The part of a session that handler code may use. */
export interface SessionHandle {
  readonly name: string;
  status(): SessionStatus;
  subscribeCall(callId: string, types?: readonly PerCallType[]): void;
  unsubscribeCall(callId: string): void;
}

export interface HandlerContext {
  /** The server's configured name. */
  server: string;
  session: SessionHandle;
  /** A logger whose lines name the server. */
  logger: Logger;
  /** The server's REST API client, to act on its calls (mute, drop, dial, lock, end, …). */
  readonly cms: CmsClient;
}

const storage = new AsyncLocalStorage<HandlerContext>();

/** The context of the handler whose (possibly nested) async work is running; undefined outside handlers. */
export function currentContext(): HandlerContext | undefined {
  return storage.getStore();
}

export function runInContext<T>(context: HandlerContext, fn: () => T): T {
  return storage.run(context, fn);
}
