// The spool seen from the sinks: the queue, its records, and the error of a folder in use.
export { Spool, type SpoolOptions } from './spool.js';
export type { SpoolRecord } from './record.js';
export { FolderLockedError } from '../../folder-lock.js';
