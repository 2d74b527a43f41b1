// Event ids: unique across servers, connections and daemon restarts, and cheap enough for the
// per-message path. A random prefix fixed at process start separates restarts; a process-wide
// counter separates everything within one process.
import { randomUUID } from 'node:crypto';

const processPrefix = randomUUID();
let counter = 0;

/** The default event id generator; shared by every server of the process. */
export const newEventId = (): string => `${processPrefix}-${(counter++).toString(36)}`;
