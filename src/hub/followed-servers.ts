// The servers this process follows, one runtime each: its pipeline (session, model, dispatcher),
// its handlers' context (with the REST client made on first use), its health checks and its CDR
// registration. The hub decides which servers run; this starts and stops them.
import type { Logger } from 'pino';
import { realClock } from '../clock.js';
import { CmsClient } from '../control/cms-client.js';
import { HUB } from '../defaults.js';
import { createSession } from '../session/index.js';
import type { ServerTarget, Session, SessionTimings } from '../session/types.js';
import { newEventId } from '../state/event-id.js';
import type { Meetings } from '../state/meetings.js';
import { serverDisconnected } from '../state/server-events.js';
import { SERVER_REMOVED_REASON } from '../state/server-state.js';
import type { CdrRecords } from './cdr-records.js';
import type { Config } from './config-schema.js';
import type { HandlerContext } from './context.js';
import { ServerDispatcher } from './dispatcher.js';
import type { HandlerRegistry } from './handlers.js';
import { registerSecret } from './logger.js';
import type { HubMetrics } from './metrics.js';
import type { ModelJournal } from './model-journal.js';
import type { ServerStart } from './ownership.js';
import { ServerHealth, type CmsHealth } from './server-health.js';
import { ServerPipeline } from './server-pipeline.js';
import type { SinkFanout } from './sink-fanout.js';
import type { StoredModels } from './stored-models.js';

export interface FollowedServersParts {
  config: Pick<Config, 'dispatch' | 'health'>;
  handlers: HandlerRegistry;
  metrics: HubMetrics;
  fanout: SinkFanout;
  meetings: Meetings;
  logger: Logger;
  sessionTimings: Partial<SessionTimings> | undefined;
  /** Opened by the hub's start (undefined: no state folder, or not yet). */
  models: () => StoredModels | undefined;
  cdr: () => CdrRecords | undefined;
}

export class FollowedServers {
  readonly #parts: FollowedServersParts;
  /** By server name: every server followed here. */
  readonly pipelines = new Map<string, ServerPipeline>();
  readonly #contexts = new Map<string, HandlerContext>();
  /**
   * REST clients by server name: those of followed servers (made on first use by their context)
   * and, in cluster mode, those the hub made for servers another instance follows.
   */
  readonly clients = new Map<string, CmsClient>();
  readonly #healths = new Map<string, ServerHealth>();

  constructor(parts: FollowedServersParts) {
    this.#parts = parts;
  }

  context(server: string): HandlerContext | undefined {
    return this.#contexts.get(server);
  }

  /** Each followed server's health as last read. */
  health(server: string): CmsHealth | undefined {
    return this.#healths.get(server)?.view();
  }

  healthViews(): Map<string, CmsHealth> {
    return new Map([...this.#healths].map(([name, health]) => [name, health.view()]));
  }

  /**
   * `from`: the model (and journal) of the session this one replaces, or the ones kept from
   * before a restart, so that its calls are not announced again; the journal's events go to the
   * sinks again before the server connects.
   */
  async start(target: ServerTarget, from?: ServerStart, mayAct?: () => boolean): Promise<void> {
    const state = from?.state;
    registerSecret(target.password);
    const logger = this.#parts.logger.child({ server: target.name });
    const dispatch = this.#parts.config.dispatch;
    let session: Session | undefined;
    const clients = this.clients;
    const context: HandlerContext = {
      server: target.name,
      logger,
      // Made on first use: most servers are never acted on, and each client keeps a pool.
      get cms() {
        let client = clients.get(target.name);
        if (client === undefined) clients.set(target.name, (client = new CmsClient({ target })));
        return client;
      },
      session: {
        name: target.name,
        status: () => (session as Session).status(),
        subscribeCall: (callId, types) => session?.subscribeCall(callId, types),
        unsubscribeCall: (callId) => session?.unsubscribeCall(callId),
      },
    };
    const dispatcher = new ServerDispatcher({
      context,
      registry: this.#parts.handlers,
      queueSize: dispatch.queueSize,
      handlerTimeoutMs: dispatch.handlerTimeoutMs,
      hooks: {
        onHandlerError: (_event, kind) => this.#parts.metrics.handlerErrors.inc({ server: target.name, kind }),
        onHandlerDone: (event, seconds) => this.#parts.metrics.handlerSeconds.observe({ type: event.type }, seconds),
      },
    });
    const pipeline = new ServerPipeline({
      target,
      fanout: this.#parts.fanout,
      dispatcher,
      dispatching: () => !this.#parts.handlers.isEmpty,
      ackAfterHandlers: dispatch.ackAfterHandlers,
      openSession: (receiver) =>
        createSession({ target, logger, timings: this.#parts.sessionTimings, ...(state && { state }), receiver, ...(mayAct && { mayAct }) }),
      ...(from?.journal && { journal: from.journal }),
      meetings: this.#parts.meetings,
      ...(mayAct && { mayAct }),
      ...(from?.fence && { fence: from.fence }),
    });
    // Its calls known from before (a restart, a replaced session) are in the meetings without news.
    if (state) this.#parts.meetings.restore(target.name, state.stored());
    session = pipeline.session;
    this.pipelines.set(target.name, pipeline);
    this.#contexts.set(target.name, context);
    // A model with a journal after it differs from its file: it is written at the next round.
    // (With a state folder, the journal is the one StoredModels opened for this server.)
    if (from?.journal) this.#parts.models()?.follow(target.name, pipeline, from.journal as ModelJournal, (from.replay?.length ?? 0) > 0);
    if (from?.replay?.length) await pipeline.replay(from.replay);
    session.start();
    const health = new ServerHealth({
      client: () => context.cms,
      state: pipeline.state,
      announce: (events) => pipeline.announce(events),
      intervalMs: this.#parts.config.health.intervalSeconds * 1_000,
      clock: realClock,
      log: logger,
    });
    this.#healths.set(target.name, health);
    health.start();
    this.#parts.cdr()?.serverStarted(target.name, () => context.cms);
  }

  /**
   * Stops a server's session; exactly one server.disconnected says why. `endCalls`: the server
   * is gone for good, so every join gets its leave and every call its end now (synthetic).
   */
  async stop(name: string, reason: string, options: { endCalls?: boolean } = {}): Promise<void> {
    const pipeline = this.pipelines.get(name);
    if (!pipeline) return;
    this.#healths.get(name)?.stop();
    this.#healths.delete(name);
    const cdr = this.#parts.cdr();
    if (options.endCalls && cdr !== undefined) await cdr.serverRemoved(name, this.#contexts.get(name)!.cms);
    else cdr?.serverStopped(name);
    // A live session announces its own end; otherwise the hub says it.
    const wasLive = pipeline.session.status().state === 'live';
    await pipeline.session.stop(reason);
    if (!wasLive) await pipeline.announce([serverDisconnected(name, newEventId(), new Date().toISOString(), reason)]);
    if (options.endCalls) await pipeline.announce(pipeline.state.endAll(SERVER_REMOVED_REASON));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pipeline.dispatcher.waitForIdle(),
      new Promise<void>((done) => {
        timer = setTimeout(done, HUB.stopDrainMs);
      }),
    ]);
    clearTimeout(timer);
    this.pipelines.delete(name);
    this.#contexts.delete(name);
    const client = this.clients.get(name);
    this.clients.delete(name);
    await client?.close();
  }
}
