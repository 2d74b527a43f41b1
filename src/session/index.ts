export * from './types.js';
export { createSession } from './session.js';
export { DEFAULT_TIMINGS, resolveTimings } from './defaults.js';
export {
  SubscriptionSet,
  PER_CALL_TYPES,
  MAX_RETIRED,
  type PerCallType,
  type SubscriptionEntry,
  type SnapshotPhase,
  type ElementSelection,
} from './subscription-set.js';
