// `cdr.register: true` (README.md, "Call detail records"): each CMS lists our receiver exactly
// once. Through the server's REST client, when it starts being followed here:
// - the entries that are ours are those posting to `/cdr/<server>` with our token; any other
//   receiver (a management product's, another tool's) is never touched;
// - one of ours with our exact URL: nothing to do; one with another address (the previous owner
//   in cluster mode, or an old publicUrl): it is changed to our URL with PUT, which keeps the
//   CMS's numbering and the records it holds back for it; extra copies are deleted;
// - none: one is added, unless the CMS already lists its `maximum` (then nothing is changed and
//   the refusal is shown on the server's status, as is a tooManyCdrReceivers answer).
// A REST API that fails is tried again every CDR.registerRetryMs; it never stops the events feed.
// When the server leaves the configuration our entry is deleted.
import type { Logger } from 'pino';
import { CDR } from '../defaults.js';
import type { CdrReceiverEntry, CmsClient } from '../control/cms-client.js';
import { CmsApiError } from '../control/errors.js';

/** What GET /api/servers shows of a server's registration. */
export interface CdrRegistrationView {
  state: 'pending' | 'registered' | 'refused' | 'failing';
  /** Why it is refused or failing, in words (no secret); null otherwise. */
  error: string | null;
  /** The CMS's id of our receiver entry, once registered. */
  receiverId: string | null;
}

interface Registered {
  view: CdrRegistrationView;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

export interface CdrRegistrationOptions {
  /** The URL a CMS posts `server`'s records to. */
  urlOf: (server: string) => string;
  token: string;
  log: Logger;
}

/** Our entries for `server`: those posting to /cdr/<server> with our token, wherever they point. */
export function isOurEntry(entry: CdrReceiverEntry, server: string, token: string): boolean {
  let url: URL;
  try {
    url = new URL(entry.uri);
  } catch {
    return false;
  }
  return url.pathname.replace(/\/+$/, '') === `/cdr/${encodeURIComponent(server)}` && url.searchParams.get('token') === token;
}

export class CdrRegistrations {
  readonly #options: CdrRegistrationOptions;
  readonly #servers = new Map<string, Registered>();

  constructor(options: CdrRegistrationOptions) {
    this.#options = options;
  }

  view(server: string): CdrRegistrationView | undefined {
    const registered = this.#servers.get(server);
    return registered && { ...registered.view };
  }

  /** Makes sure the CMS lists our receiver once; goes on trying in the background while its REST API fails. */
  ensure(server: string, client: () => CmsClient): void {
    this.#cancel(server);
    const registered: Registered = { view: { state: 'pending', error: null, receiverId: null }, timer: undefined, stopped: false };
    this.#servers.set(server, registered);
    const attempt = (): void => {
      void this.#register(server, client(), registered).then((retry) => {
        if (retry && !registered.stopped) registered.timer = setTimeout(attempt, CDR.registerRetryMs).unref();
      });
    };
    attempt();
  }

  /** Stops trying for `server` (it is no longer followed here); its entry stays on the CMS. */
  release(server: string): void {
    this.#cancel(server);
    this.#servers.delete(server);
  }

  /** The server left the configuration: our entries go from its CMS. */
  async remove(server: string, client: CmsClient): Promise<void> {
    this.release(server);
    try {
      const { receivers } = await client.cdrReceivers();
      for (const entry of receivers.filter((e) => isOurEntry(e, server, this.#options.token))) await client.removeCdrReceiver(entry.id);
      this.#options.log.info({ server }, 'the server left the configuration: our CDR receiver was deleted from it');
    } catch (error) {
      this.#options.log.warn({ server, error: (error as Error).message }, 'the server left the configuration, but our CDR receiver could not be deleted from it');
    }
  }

  stop(): void {
    for (const server of [...this.#servers.keys()]) this.release(server);
  }

  #cancel(server: string): void {
    const registered = this.#servers.get(server);
    if (registered === undefined) return;
    registered.stopped = true;
    clearTimeout(registered.timer);
  }

  /** One attempt; resolves true when it should be tried again later. */
  async #register(server: string, client: CmsClient, registered: Registered): Promise<boolean> {
    const { log, token } = this.#options;
    const url = this.#options.urlOf(server);
    try {
      const { receivers, maximum } = await client.cdrReceivers();
      if (registered.stopped) return false;
      const ours = receivers.filter((entry) => isOurEntry(entry, server, token));
      const keep = ours.find((entry) => entry.uri === url) ?? ours[0];
      if (keep !== undefined && keep.uri !== url) {
        await client.setCdrReceiver(keep.id, url);
        log.info({ server, receiverId: keep.id }, 'our CDR receiver on the CMS pointed elsewhere (a previous owner, or an old publicUrl): changed to this instance');
      }
      for (const extra of ours.filter((entry) => entry !== keep)) {
        await client.removeCdrReceiver(extra.id);
        log.info({ server, receiverId: extra.id }, 'a second entry of our CDR receiver was deleted from the CMS');
      }
      let id = keep?.id;
      if (id === undefined) {
        if (maximum !== null && receivers.length >= maximum) {
          registered.view = { state: 'refused', error: `the CMS lists ${receivers.length} CDR receivers, its maximum: ours was not added (no other receiver is touched)`, receiverId: null };
          log.warn({ server, receivers: receivers.length, maximum }, 'cannot register our CDR receiver: the CMS has no free receiver slot');
          return false;
        }
        id = await client.addCdrReceiver(url);
        log.info({ server, receiverId: id }, 'our CDR receiver was added to the CMS');
      }
      registered.view = { state: 'registered', error: null, receiverId: id };
      return false;
    } catch (error) {
      if (registered.stopped) return false;
      const message = (error as Error).message;
      if (error instanceof CmsApiError && error.status >= 400 && error.status < 500) {
        // A refusal (tooManyCdrReceivers, a parameter the CMS does not take): trying again changes nothing.
        registered.view = { state: 'refused', error: message, receiverId: null };
        log.warn({ server, error: message }, 'the CMS refused our CDR receiver');
        return false;
      }
      if (registered.view.state !== 'failing') log.warn({ server, error: message }, `cannot register our CDR receiver through the REST API; trying again every ${CDR.registerRetryMs / 1000} s`);
      registered.view = { state: 'failing', error: message, receiverId: null };
      return true;
    }
  }
}
