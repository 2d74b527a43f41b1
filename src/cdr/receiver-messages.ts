// What the CDR receiver's thread (receiver-worker.ts) and the main thread (receiver-thread.ts)
// say to each other.
import type { IntakeBody } from './intake.js';

export interface WorkerSettings {
  intakeDir: string;
  receiver: {
    host: string;
    port: number;
    tls?: { cert: string; key: string };
    token: string;
    maxBodyBytes?: number;
    answerDelayMs?: number;
  };
  /** Fault injection for tests only: the thread fails (an uncaught error) after this many 200s. */
  failAfterAnswers?: number;
}

export type ToWorker =
  /** Which servers are configured (else 404) and followed here (else 503). */
  | { t: 'servers'; known: string[]; followed: string[] }
  /** Start handing stored bodies over. */
  | { t: 'process' }
  /** The main thread is done with these bodies (`keep`: it stays in the intake for the next start). */
  | { t: 'done'; bodies: Array<{ id: string; keep: boolean }> }
  /** Report the figures now (a metrics scrape). */
  | { t: 'report' }
  | { t: 'close'; drainMs: number };

export type ToMain =
  | { t: 'listening'; url: string }
  | { t: 'failed'; message: string; code: string | null }
  /** Bodies on disk, to be turned into events (those of one event-loop turn: one message, not one each). */
  | { t: 'bodies'; bodies: IntakeBody[] }
  /** A log line (pino JSON) for the main thread's logger. */
  | { t: 'log'; line: string }
  /** Answers given since the last report, [server, status, count], and the intake's backlog. */
  | { t: 'stats'; answers: Array<[string, string, number]>; backlog: number }
  | { t: 'closed' };
