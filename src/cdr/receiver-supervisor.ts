// Keeps the CDR receiver's thread running: a thread that fails (an uncaught error in it) takes
// its listener with it, so it is started again, after a pause that doubles while each new one
// fails soon after its start. Meanwhile the CMSs get no answer; they keep their records and send
// them again. What the failed thread had stored and not handed over is in the intake, processed
// by the next one first; what was handed over already is not announced twice (the ledger).
import { CDR } from '../defaults.js';
import { ReceiverThread, type ReceiverThreadOptions } from './receiver-thread.js';

export type ReceiverSupervisorOptions = Omit<ReceiverThreadOptions, 'onExit'>;

export class ReceiverSupervisor {
  readonly #options: ReceiverSupervisorOptions;
  /** Undefined while a failed thread waits to be started again. */
  #thread: ReceiverThread | undefined;
  /** As first bound: the listener's port is the configured one, so it stays. */
  #url = '';
  #servers: { known: readonly string[]; followed: readonly string[] } | undefined;
  #processing = false;
  #closing = false;
  #startedAt = 0;
  #delayMs: number = CDR.threadRestartMinMs;
  #timer: NodeJS.Timeout | undefined;

  private constructor(options: ReceiverSupervisorOptions) {
    this.#options = options;
  }

  /** Resolves once the first thread listens; rejects with why it cannot (then nothing is retried). */
  static async start(options: ReceiverSupervisorOptions): Promise<ReceiverSupervisor> {
    const supervisor = new ReceiverSupervisor(options);
    supervisor.#thread = await supervisor.#startThread(options);
    supervisor.#url = supervisor.#thread.url;
    return supervisor;
  }

  get url(): string {
    return this.#url;
  }

  get backlog(): number {
    return this.#thread?.backlog ?? 0;
  }

  refresh(): Promise<void> {
    return this.#thread?.refresh() ?? Promise.resolve();
  }

  setServers(known: readonly string[], followed: readonly string[]): void {
    this.#servers = { known, followed };
    this.#thread?.setServers(known, followed);
  }

  startProcessing(): void {
    this.#processing = true;
    this.#thread?.startProcessing();
  }

  async close(drainMs?: number): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    await this.#thread?.close(drainMs);
  }

  #startThread(options: ReceiverThreadOptions): Promise<ReceiverThread> {
    this.#startedAt = Date.now();
    return ReceiverThread.start({ ...options, onExit: (code) => this.#stopped(code) });
  }

  #stopped(code: number): void {
    this.#thread = undefined;
    if (this.#closing) return;
    this.#delayMs = Date.now() - this.#startedAt >= CDR.threadStableMs ? CDR.threadRestartMinMs : Math.min(this.#delayMs * 2, CDR.threadRestartMaxMs);
    this.#options.log.error({ exitCode: code, retryInMs: this.#delayMs }, 'the CDR receiver\'s thread stopped; CMSs get no answer until it runs again (they keep their records and send them again)');
    this.#schedule();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => void this.#restart(), this.#delayMs);
  }

  async #restart(): Promise<void> {
    this.#timer = undefined;
    if (this.#closing) return;
    // A fault injected for a test is the first thread's only.
    const { failAfterAnswers: _once, ...options } = this.#options;
    let thread: ReceiverThread;
    try {
      thread = await this.#startThread(options);
    } catch (error) {
      this.#delayMs = Math.min(this.#delayMs * 2, CDR.threadRestartMaxMs);
      this.#options.log.error({ error: (error as Error).message, retryInMs: this.#delayMs }, 'the CDR receiver\'s thread cannot start again yet');
      this.#schedule();
      return;
    }
    if (this.#closing) return void (await thread.close());
    this.#thread = thread;
    if (this.#servers) thread.setServers(this.#servers.known, this.#servers.followed);
    if (this.#processing) thread.startProcessing();
    this.#options.log.info({ listen: thread.url }, 'the CDR receiver\'s thread runs again');
  }
}
