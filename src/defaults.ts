// Every tuning constant of the process in one place, typed, with the reason for its value.
// User-facing settings (the config file) keep their defaults in the zod schemas
// (hub/config-schema.ts, sinks/config.ts); what is here is internal: timings and sizes that a
// test or a benchmark may override where the owning module takes an option, and that an
// operator reading the code finds together.

/** One server's session. `SessionOptions.timings` overrides any of these. */
export interface SessionTimings {
  /** Token request + WebSocket handshake, counted from the connect slot. @defaultValue 10 000 */
  connectTimeoutMs: number;
  /** From the subscribe request to every subscription active. @defaultValue 15 000 */
  subscribeTimeoutMs: number;
  /** First reconnect window (full jitter). @defaultValue 1 000 */
  backoffInitialMs: number;
  /** Largest reconnect window. @defaultValue 60 000 */
  backoffMaxMs: number;
  /** Slower retry after bad credentials or a TLS verification failure. @defaultValue 60 000 */
  authFailureRetryMs: number;
  /** A connection must stay live this long before the backoff resets. @defaultValue 30 000 */
  backoffResetAfterMs: number;
  /** Quiet period after which an open snapshot counts as complete (session/snapshot-tracker.ts). @defaultValue 300 */
  snapshotQuietMs: number;
  /** WebSocket ping interval; 0 turns pings off. @defaultValue 30 000 */
  pingIntervalMs: number;
  /** Close grace before terminate() on teardown. @defaultValue 1 000 */
  closeGraceMs: number;
}

export const SESSION_TIMINGS: Readonly<SessionTimings> = Object.freeze({
  connectTimeoutMs: 10_000,
  subscribeTimeoutMs: 15_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 60_000,
  authFailureRetryMs: 60_000,
  backoffResetAfterMs: 30_000,
  snapshotQuietMs: 300,
  pingIntervalMs: 30_000,
  closeGraceMs: 1_000,
});

export const SESSION_LIMITS = Object.freeze({
  /**
   * Retired subscription indexes still mapped to their call (session/subscription-set.ts), so that
   * late data for a dropped subscription is recognised; the oldest go past this many.
   */
  maxRetiredIndexes: 4096,
});

export const TRANSPORT = Object.freeze({
  /** Idle time before the kernel probes a silent connection: dead-peer detection that needs no server help. */
  tcpKeepaliveDelayMs: 15_000,
  /**
   * Connection attempts (token + handshake) running at once in the process. Measured: 1,000
   * servers starting together under load took 75 s to all live without a cap, 6 s with it.
   */
  connectSlots: 64,
  /** Unanswered pings tolerated once a server has answered one (transport/ping-watchdog.ts). */
  pingMaxMissed: 2,
  /** Error bodies are read for their <failureDetails> only. */
  maxErrorBodyBytes: 16 * 1024,
});

export const CONTROL = Object.freeze({
  /** A REST request (each attempt) that takes longer fails: a timeout is an error, never a hang. */
  timeoutMs: 10_000,
  /** A 503 (the CMS is busy) is tried again, this many attempts in all, with backoff. */
  attempts: 4,
  backoffInitialMs: 250,
  backoffMaxMs: 2_000,
  /** Idle keep-alive connections to one CMS are closed after this long. */
  keepAliveMs: 10_000,
  /** REST lookups of which bridge hosts a participant several bridges list, at once over the fleet. */
  hostLookups: 4,
  /**
   * A bridge's own-participant count changed in a meeting with people listed by several bridges
   * (someone may have moved unseen): their hosts are asked again once the meeting has been quiet
   * this long, and at the latest this long after the first change, so a busy meeting costs at
   * most one round of lookups per max wait.
   */
  hostRecheckQuietMs: 1_000,
  hostRecheckMaxWaitMs: 10_000,
});

export const HUB = Object.freeze({
  /** On stop, how long a server's handler queue may take to empty. */
  stopDrainMs: 5_000,
  /** Seconds of samples behind the events-per-second figure. */
  eventRateWindowSeconds: 5,
  /** The config file's changes settle this long before it is re-read (editors write in steps). */
  configDebounceMs: 150,
  /**
   * A server's stored model is rewritten at most this often while it changes (and never while
   * idle): after kill -9 at most this much of the announced history is announced again.
   */
  stateWriteIntervalMs: 1_000,
  /** Stored models written at once in one round (their fsyncs overlap). */
  stateWriteConcurrency: 16,
});

export const STDOUT = Object.freeze({
  /** Lines wait at most about this long to be written together (one write(2) per burst). */
  flushDelayMs: 1,
  /** A batch this large is written at once. */
  chunkBytes: 256 * 1024,
  /** Above this much waiting, `write` returns a promise and the hub holds its acks back… */
  highWaterBytes: 8 * 1024 * 1024,
  /** …until the waiting bytes fall below this. */
  lowWaterBytes: 1024 * 1024,
  closeTimeoutMs: 5_000,
});

export const SPOOL = Object.freeze({
  /** Records queued within one turn go to the segment in one write, up to this size. */
  writeChunkBytes: 1024 * 1024,
  /** A dirty segment is fdatasync'd this often (the durability window for a power loss). */
  syncIntervalMs: 1_000,
  /** The delivered position (cursor.json) is rewritten at most this often. */
  cursorIntervalMs: 200,
  /** A failed write (ENOSPC, EIO) is tried again after this long. */
  writeRetryMs: 1_000,
  /** Newest records also kept in memory, so a sink that keeps up never reads the disk. */
  memoryBytes: 16 * 1024 * 1024,
  /** Bytes asked of the disk per read when catching up (more for a single larger record). */
  readChunkBytes: 1024 * 1024,
  /** Segment size unless set: a sixteenth of the spool's limit, within these bounds. */
  segmentMinBytes: 4 * 1024,
  segmentMaxBytes: 64 * 1024 * 1024,
  /** `write` may go on again once the undelivered bytes fell below this share of the limit. */
  roomRatio: 0.9,
});

export const SPOOLED_SINK = Object.freeze({
  /** Bytes per delivery attempt, besides the configured record count. */
  batchMaxBytes: 4 * 1024 * 1024,
  /** A failure streak this long (or failingAfterAttempts attempts) turns `retrying` into `failing`. */
  failingAfterMs: 30_000,
  failingAfterAttempts: 5,
  /** While failing, the warning is repeated at most this often. */
  failureLogIntervalMs: 60_000,
  /** A downstream's Retry-After is honoured up to this long. */
  retryAfterCapMs: 15 * 60_000,
  /** On close, how long a delivery in flight may take to notice the abort. */
  closeAbortGraceMs: 2_000,
  /** On close, how long a healthy downstream gets to take the backlog. */
  closeDrainMs: 5_000,
});

export const SSE = Object.freeze({
  /** A client that falls this far behind is dropped rather than buffered without bound. */
  maxBufferedBytes: 8 * 1024 * 1024,
  /** Comment lines keep proxies from closing an idle stream. */
  pingMs: 15_000,
});

export const CDR = Object.freeze({
  /** A POST body larger than this is kept aside unread (a CMS batch of records is a few KiB each). */
  maxBodyBytes: 4 * 1024 * 1024,
  /** Bodies stored and not yet turned into events, at most; above it POSTs get 503 and the CMS re-sends later. */
  intakeMaxBytes: 256 * 1024 * 1024,
  /**
   * One intake segment file. Each is made ahead of time full of zeros (sinks/spool/segment-prealloc.ts),
   * so this much is written once more per segment, in the background; a few thousand bodies each.
   */
  intakeSegmentBytes: 4 * 1024 * 1024,
  /**
   * A receiver thread that failed is started again after this long, doubled while each new one
   * fails within threadStableMs of its start (up to the max), back to the min once one lasted.
   */
  threadRestartMinMs: 1_000,
  threadRestartMaxMs: 30_000,
  threadStableMs: 60_000,
  /** Records taken from the intake per round, and in processing at once over all servers. */
  intakeBatchRecords: 256,
  intakeInFlightRecords: 4_096,
  /** Retry-After of a 503 (intake full, server followed by another instance). */
  retryAfterSeconds: 5,
  /** A connection sending a body slower than this long in all is cut (a CMS sends a few KiB at once). */
  bodyTimeoutMs: 30_000,
  /** Registration is tried again this long after the REST API failed. */
  registerRetryMs: 30_000,
});
