import type { ServerTarget } from '../../session/types.js';

/**
 * Where the list of servers comes from. A source calls `apply` with the whole current list each
 * time it changes; it keeps the last good list (by not calling) when its origin is broken.
 */
export interface ServerSource {
  start(apply: (targets: ServerTarget[]) => void): Promise<void>;
  /** Re-reads the origin now (SIGHUP). */
  reload(): void;
  stop(): void;
}
