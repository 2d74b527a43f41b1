// The main thread's side of the CDR receiver's thread (receiver-worker.ts): starts it, tells it
// which servers exist and which are followed here, hands each stored body to `process` and says
// when that is done, writes the thread's log lines with the main logger, and keeps its figures.
// The HTTP listener and the intake run on the worker's thread: reading and answering POSTs and
// syncing bodies to disk then use a core of their own (BENCHMARKS.md, "CDR receiver").
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { KeepForNextStart, type IntakeBody } from './intake.js';
import { Outbox } from './outbox.js';
import type { ToMain, ToWorker, WorkerSettings } from './receiver-messages.js';

export interface ReceiverThreadOptions extends WorkerSettings {
  /** Turns a body into events; KeepForNextStart leaves it in the intake. */
  process: (body: IntakeBody) => Promise<void>;
  log: Logger;
  /** Answers given since the last report: [server ('' before it is known), status, count]. */
  onAnswers: (answers: Array<[string, string, number]>) => void;
  /** The thread ended without being closed (a failure in it): the listener is gone with it. */
  onExit?: (code: number) => void;
}

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** The worker; under tsx (tests and benchmarks run from source) the .ts file, loaded through tsx's API. */
function startWorker(workerData: WorkerSettings): Worker {
  const options = { workerData, stdout: false, stderr: false };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./receiver-worker.js', import.meta.url), options);
  const file = new URL('./receiver-worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(file)}); });`, { ...options, eval: true });
}

export class ReceiverThread {
  readonly #worker: Worker;
  readonly #options: ReceiverThreadOptions;
  #url = '';
  #backlog = 0;
  #closed: Promise<void> | undefined;
  /** Waiting for the thread's next report. */
  #reported: Array<() => void> = [];
  /** Bodies done with, told to the thread once per turn. */
  readonly #done: Outbox<{ id: string; keep: boolean }>;

  private constructor(worker: Worker, options: ReceiverThreadOptions) {
    this.#worker = worker;
    this.#options = options;
    this.#done = new Outbox((bodies) => this.#post({ t: 'done', bodies }));
  }

  /** Resolves once the thread listens; rejects with why it cannot. */
  static start(options: ReceiverThreadOptions): Promise<ReceiverThread> {
    const { process: _process, log: _log, onAnswers: _onAnswers, onExit: _onExit, ...settings } = options;
    const worker = startWorker(settings);
    const thread = new ReceiverThread(worker, options);
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      worker.once('error', failed);
      worker.on('message', (message: ToMain) => {
        if (message.t === 'listening') {
          thread.#url = message.url;
          worker.off('error', failed);
          worker.on('error', (error) => options.log.error({ error: error.message }, 'the CDR receiver\'s thread failed'));
          worker.on('exit', (code) => {
            if (thread.#closed === undefined) options.onExit?.(code);
          });
          resolve(thread);
        } else if (message.t === 'failed') {
          const error = new Error(message.message) as NodeJS.ErrnoException;
          if (message.code !== null) error.code = message.code;
          reject(error);
        } else thread.#receive(message);
      });
    });
  }

  /** http(s)://host:port as bound. */
  get url(): string {
    return this.#url;
  }

  /** Bodies stored and not yet processed (as of the thread's last report, about every second). */
  get backlog(): number {
    return this.#backlog;
  }

  /** Asks the thread for its figures now; resolves when they came (or after a second). */
  refresh(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      this.#reported.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#post({ t: 'report' });
    });
  }

  setServers(known: readonly string[], followed: readonly string[]): void {
    this.#post({ t: 'servers', known: [...known], followed: [...followed] });
  }

  startProcessing(): void {
    this.#post({ t: 'process' });
  }

  /** No more POSTs; what is in processing gets `drainMs` to finish, the rest stays for the next start. */
  close(drainMs = 5_000): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const done = () => resolve();
      this.#worker.once('exit', done);
      this.#post({ t: 'close', drainMs });
      // A thread that does not end on its own within the drain time and a margin is ended.
      setTimeout(() => void this.#worker.terminate(), drainMs + 5_000).unref();
    });
    return this.#closed;
  }

  #post(message: ToWorker): void {
    this.#worker.postMessage(message);
  }

  #receive(message: ToMain): void {
    switch (message.t) {
      case 'bodies':
        for (const body of message.bodies) this.#processBody(body);
        return;
      case 'log':
        this.#log(message.line);
        return;
      case 'stats':
        this.#backlog = message.backlog;
        if (message.answers.length > 0) this.#options.onAnswers(message.answers);
        for (const done of this.#reported.splice(0)) done();
        return;
      case 'listening':
      case 'failed':
      case 'closed':
        return;
    }
  }

  #processBody(body: IntakeBody): void {
    this.#options.process(body).then(
      () => this.#done.add({ id: body.id, keep: false }),
      (error: unknown) => {
        const keep = error instanceof KeepForNextStart;
        if (!keep) this.#options.log.error({ server: body.server, error: (error as Error).message }, 'processing a CDR body failed; it is not retried');
        this.#done.add({ id: body.id, keep });
      },
    );
  }

  /** A pino line of the thread, written by the main logger (its level, and secrets masked). */
  #log(line: string): void {
    try {
      const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg?: string } & Record<string, unknown>;
      this.#options.log[LEVELS[level] ?? 'info'](fields, msg ?? '');
    } catch {
      this.#options.log.warn({ line }, 'the CDR receiver\'s thread wrote a line that is not JSON');
    }
  }
}
