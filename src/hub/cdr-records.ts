// The hub's side of the CDR receiver (README.md, "Call detail records"): it opens the intake in
// the state folder, starts the listener, and turns each stored body into events through the
// server's own pipeline (journal, sinks, SSE, handlers: the path of every other event). Which
// records are new is the server model's call (state/cdr-ledger.ts), so a re-sent or replayed
// body announces nothing twice.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CdrConfig } from '../cdr/config.js';
import { KeepForNextStart, type IntakeBody } from '../cdr/intake.js';
import { parseCdrBody } from '../cdr/parse.js';
import { ReceiverSupervisor } from '../cdr/receiver-supervisor.js';
import { SetAside } from '../cdr/set-aside.js';
import type { CmsClient } from '../control/cms-client.js';
import { CdrRegistrations, isOurEntry, type CdrRegistrationView } from './cdr-registration.js';
import { forwardBody } from '../cdr/forward.js';
import { loadOrCreateToken } from '../cdr/token.js';
import { ConfigError } from './config-error.js';
import { resolveSecret } from './config-loader.js';
import { registerSecret } from './logger.js';
import type { CmsEvent } from '../state/events.js';
import type { ServerState } from '../state/server-state.js';

/** What the CDR side needs of the hub. */
export interface CdrHubSide {
  /** The server is configured (in cluster mode, followed here or not). */
  knows(server: string): boolean;
  /** The server's REST client (any configured server, followed here or not). */
  client(server: string): CmsClient | undefined;
  /** The server's model and its pipeline's entry, while this process follows it and may act for it. */
  followed(server: string): { state: ServerState; announce: (events: CmsEvent[]) => Promise<void> } | undefined;
}

export interface CdrRecordsOptions {
  config: CdrConfig;
  token: string;
  /** PEM contents of cdr.tls, read by the caller. */
  tls?: { cert: string; key: string };
  stateDir: string;
  hub: CdrHubSide;
  logger: Logger;
  registry: Registry;
}

export class CdrRecords {
  readonly #options: CdrRecordsOptions;
  readonly #log: Logger;
  readonly #setAside: SetAside;
  /** The listener and the intake, on a thread of their own (started again if it fails). */
  #thread: ReceiverSupervisor | undefined;
  /** Followed here (POSTs are taken), and configured (cluster mode: followed anywhere; else undefined: the followed ones). */
  readonly #followed = new Set<string>();
  #configured: Set<string> | undefined;
  #closing = false;
  /** With `register: true`. */
  readonly #registrations: CdrRegistrations | undefined;
  readonly #posts: Counter<'server' | 'status'>;
  readonly #records: Counter<'server' | 'type'>;
  readonly #duplicates: Counter<'server'>;
  readonly #missing: Counter<'server'>;
  readonly #rejected: Counter<'server' | 'reason'>;

  constructor(options: CdrRecordsOptions) {
    this.#options = options;
    this.#log = options.logger.child({ part: 'cdr' });
    this.#setAside = new SetAside(path.join(options.stateDir, 'cdr-set-aside'));
    const registers = [options.registry];
    const refresh = () => this.#thread?.refresh();
    this.#posts = new Counter({
      name: 'cms_events_cdr_posts_total',
      help: 'CDR POSTs answered, by server and HTTP status',
      labelNames: ['server', 'status'],
      registers,
      // The receiver's thread counts them; a scrape asks it for its figures first.
      async collect() {
        await refresh();
      },
    });
    this.#records = new Counter({ name: 'cms_events_cdr_records_total', help: 'CDRs announced as events, by server and record type', labelNames: ['server', 'type'], registers });
    this.#duplicates = new Counter({ name: 'cms_events_cdr_duplicates_total', help: 'CDRs received again (re-sent by the CMS) and not announced again', labelNames: ['server'], registers });
    this.#missing = new Counter({ name: 'cms_events_cdr_missing_records_total', help: 'CDRs the CMS reported discarded (numPreceedingRecordsMissing)', labelNames: ['server'], registers });
    this.#rejected = new Counter({ name: 'cms_events_cdr_rejected_bodies_total', help: 'CDR POST bodies set aside: not a CDR document, or too large', labelNames: ['server', 'reason'], registers });
    if (options.config.register) {
      this.#registrations = new CdrRegistrations({ urlOf: (server) => this.receiverUrl(server)!, token: options.token, log: this.#log });
    }
    const thread = (): ReceiverSupervisor | undefined => this.#thread;
    new Gauge({
      name: 'cms_events_cdr_intake_backlog',
      help: 'CDR bodies stored and not yet turned into events (as of the receiver\'s last report, about every second)',
      registers,
      collect() {
        this.set(thread()?.backlog ?? 0);
      },
    });
  }

  /** The listener's own address (http(s)://host:port), once started. */
  get listenUrl(): string | undefined {
    return this.#thread?.url;
  }

  /** The URL a CMS posts `server`'s records to (with the token: never log it unmasked). */
  receiverUrl(server: string): string | undefined {
    const base = this.#options.config.publicUrl ?? this.#thread?.url;
    return base && `${base}/cdr/${encodeURIComponent(server)}?token=${this.#options.token}`;
  }

  async start(): Promise<void> {
    const { config, stateDir } = this.#options;
    try {
      const failAfter = process.env.CMS_EVENTS_TEST_CDR_THREAD_FAIL_AFTER;
      this.#thread = await ReceiverSupervisor.start({
        intakeDir: path.join(stateDir, 'cdr-intake'),
        receiver: {
          host: config.listen.host,
          port: config.listen.port,
          ...(this.#options.tls && { tls: this.#options.tls }),
          token: this.#options.token,
          ...(config.maxBodyBytes !== undefined && { maxBodyBytes: config.maxBodyBytes }),
          ...(process.env.CMS_EVENTS_TEST_CDR_ANSWER_DELAY_MS && { answerDelayMs: Number(process.env.CMS_EVENTS_TEST_CDR_ANSWER_DELAY_MS) }),
        },
        ...(failAfter && { failAfterAnswers: Number(failAfter) }),
        process: (body) => this.#process(body),
        log: this.#log,
        onAnswers: (answers) => {
          for (const [server, status, count] of answers) this.#posts.inc({ server, status }, count);
        },
      });
    } catch (error) {
      throw new Error(`the CDR receiver cannot listen on ${config.listen.host}:${config.listen.port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    this.#log.info({ listen: this.#thread.url, publicUrl: config.publicUrl ?? null }, 'CDR receiver listening: each CMS posts to <publicUrl>/cdr/<server>?token=…');
  }

  /** Bodies received before the servers were started wait until then: call once they run. */
  startProcessing(): void {
    this.#thread?.startProcessing();
  }

  /** Cluster mode: every configured server (a POST for one followed elsewhere is 503, not 404). */
  setConfigured(servers: Iterable<string>): void {
    this.#configured = new Set(servers);
    this.#tellServers();
  }

  #tellServers(): void {
    this.#thread?.setServers([...(this.#configured ?? this.#followed)], [...this.#followed]);
  }

  /** A server is followed here from now on: with `register: true`, the CMS is made to list our receiver. */
  serverStarted(server: string, client: () => CmsClient): void {
    this.#followed.add(server);
    this.#tellServers();
    this.#registrations?.ensure(server, client);
  }

  /** Another instance follows it now, or the daemon stops: our entry stays on the CMS (it holds records back for us meanwhile). */
  serverStopped(server: string): void {
    this.#followed.delete(server);
    this.#tellServers();
    this.#registrations?.release(server);
  }

  /** The server left the configuration: with `register: true`, our entry goes from its CMS. */
  async serverRemoved(server: string, client: CmsClient): Promise<void> {
    this.#followed.delete(server);
    this.#tellServers();
    await this.#registrations?.remove(server, client);
  }

  /** `cdr.register: true`: the daemon keeps its receiver listed on each CMS. */
  get registers(): boolean {
    return this.#registrations !== undefined;
  }

  /** Undefined without `register: true`. */
  registration(server: string): CdrRegistrationView | null | undefined {
    if (this.#registrations === undefined) return undefined;
    return this.#registrations.view(server) ?? null;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#registrations?.stop();
    await this.#thread?.close();
  }

  async #process(body: IntakeBody): Promise<void> {
    const { server } = body;
    let followed = this.#options.hub.followed(server);
    for (let attempt = 0; followed === undefined; attempt++) {
      if (!this.#options.hub.knows(server)) {
        this.#log.error({ server, receivedAt: body.receivedAt }, `a stored CDR body of ${server} cannot be processed: the server is no longer configured; it is dropped`);
        return;
      }
      if (this.#closing) throw new KeepForNextStart();
      if (await this.#forward(body, attempt)) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt)));
      followed = this.#options.hub.followed(server);
    }
    if (body.truncated) return this.#reject(body, 'tooLarge', `larger than cdr.maxBodyBytes; its beginning is kept`);
    const parsed = parseCdrBody(body.body);
    if (!parsed.ok) return this.#reject(body, 'notCdr', parsed.problem);
    const events = followed.state.applyCdr(parsed);
    let announced = 0;
    for (const event of events) {
      if (event.type === 'cdr.gap') {
        this.#missing.inc({ server }, event.missing);
        this.#log.warn({ server, session: event.session, recordIndex: event.recordIndex, missing: event.missing }, `the CMS discarded ${event.missing} CDR(s) it could not deliver in time (numPreceedingRecordsMissing)`);
        continue;
      }
      announced++;
      this.#records.inc({ server, type: event.type.slice(4) });
    }
    const duplicates = parsed.records.length - announced;
    if (duplicates > 0) this.#duplicates.inc({ server }, duplicates);
    await followed.announce(events);
  }

  /**
   * Cluster mode: the server is followed by another instance (or nobody, for a moment): the body
   * goes to the receiver the CMS posts to now. True once that receiver took it.
   */
  async #forward(body: IntakeBody, attempt: number): Promise<boolean> {
    const own = this.receiverUrl(body.server);
    let target: string | undefined;
    try {
      const { receivers } = await this.#options.hub.client(body.server)!.cdrReceivers();
      target = receivers.find((entry) => isOurEntry(entry, body.server, this.#options.token) && entry.uri !== own)?.uri;
    } catch (error) {
      if (attempt === 0) this.#log.warn({ server: body.server, error: (error as Error).message }, 'a stored CDR body waits: this instance no longer follows the server, and its REST API does not say where its records go now');
      return false;
    }
    if (target === undefined) {
      if (attempt === 0) this.#log.warn({ server: body.server }, 'a stored CDR body waits: this instance no longer follows the server, and no other instance is registered on it yet');
      return false;
    }
    const status = await forwardBody(target, body.body);
    if (status === 200) {
      this.#log.info({ server: body.server }, 'a stored CDR body was handed to the instance that follows the server now');
      return true;
    }
    if (attempt === 0) this.#log.warn({ server: body.server, status }, 'a stored CDR body waits: the instance that follows the server now did not take it yet');
    return false;
  }

  async #reject(body: IntakeBody, reason: 'tooLarge' | 'notCdr', problem: string): Promise<void> {
    this.#rejected.inc({ server: body.server, reason });
    let file: string | null = null;
    try {
      file = await this.#setAside.keep(body);
    } catch (error) {
      this.#log.error({ server: body.server, error: (error as Error).message }, 'cannot keep a rejected CDR body aside');
    }
    this.#log.warn({ server: body.server, problem, file, bytes: Buffer.byteLength(body.body) }, `a CDR POST body is not a CDR document (${problem}); it was answered 200 and kept aside`);
  }
}

/**
 * The CDR side as the config says: the token (given, or made once and kept in the state folder;
 * masked in every log line from now on) and the TLS files read. Problems are ConfigErrors that
 * name the field.
 */
export async function cdrRecordsFromConfig(
  config: CdrConfig,
  where: { baseDir: string; stateDir: string | null; origin: string; clustered: boolean },
  parts: Pick<CdrRecordsOptions, 'hub' | 'logger' | 'registry'>,
): Promise<CdrRecords> {
  if (where.stateDir === null) {
    throw new ConfigError(where.origin, [{ field: 'cdr', problem: 'the CDR receiver needs a state folder (stateDir) to store records before it answers 200' }]);
  }
  const ctx = { baseDir: where.baseDir, origin: where.origin, field: 'cdr' };
  if (where.clustered && config.token === undefined && config.tokenEnv === undefined && config.tokenFile === undefined) {
    // Each instance must recognise (and replace) the entry another instance registered for a server.
    throw new ConfigError(where.origin, [{ field: 'cdr.token', problem: 'in cluster mode every instance needs the same CDR token: give token, tokenEnv or tokenFile' }]);
  }
  const token =
    resolveSecret({ inline: config.token, env: config.tokenEnv, file: config.tokenFile }, { inline: 'token', env: 'tokenEnv', file: 'tokenFile' }, ctx) ??
    (await loadOrCreateToken(where.stateDir));
  registerSecret(token);
  const read = (file: string, field: string): string => {
    try {
      return readFileSync(path.resolve(where.baseDir, file), 'utf8');
    } catch (error) {
      throw new ConfigError(where.origin, [{ field: `cdr.tls.${field}`, problem: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})` }]);
    }
  };
  const tls = config.tls && { cert: read(config.tls.cert, 'cert'), key: read(config.tls.key, 'key') };
  return new CdrRecords({ config, token, ...(tls && { tls }), stateDir: where.stateDir, ...parts });
}
