// What GET /api/servers shows for one server: a server this process follows (its session's
// status, rates and health), or, in cluster mode, one another instance follows (standby).
import type { ServerTarget, SessionStatus } from '../session/types.js';
import type { ServerPipeline } from './server-pipeline.js';
import type { CmsHealth } from './server-health.js';
import type { CdrRegistrationView } from './cdr-registration.js';

export interface ServerView extends Omit<SessionStatus, 'state' | 'counters'> {
  /** `standby` (cluster mode): another instance follows it, or none does yet. */
  state: SessionStatus['state'] | 'standby';
  /** Null for a server another instance follows. */
  counters: SessionStatus['counters'] | null;
  /** Cluster mode: the instance following it (null: none); absent in single-process mode. */
  owner?: string | null;
  /** The CMS's own health from its REST API (null for a server another instance follows). */
  cms: CmsHealth | null;
  host: string;
  port: number;
  calls: number;
  eventsPerSecond: number;
  /** With `cdr.register: true`: our receiver's registration on this CMS (null for a server another instance follows). */
  cdrRegistration?: CdrRegistrationView | null;
  /** True while the calls shown are the model kept from before the daemon's restart, not yet confirmed by the server. */
  restored: boolean;
}

/** A server this process follows; `owner`: this instance's name in cluster mode. */
/** `cdrRegistration`: undefined without `cdr.register: true` (the field is left out then). */
export function followedView(pipeline: ServerPipeline, cms: CmsHealth | null, owner: string | undefined, cdrRegistration?: CdrRegistrationView | null): ServerView {
  return {
    ...pipeline.session.status(),
    host: pipeline.target.host,
    port: pipeline.target.port,
    calls: pipeline.session.calls().length,
    eventsPerSecond: pipeline.eventsPerSecond(),
    restored: pipeline.state.restored,
    ...(owner !== undefined && { owner }),
    cms,
    ...(cdrRegistration !== undefined && { cdrRegistration }),
  };
}

/** A server another instance follows (or nobody yet), with the calls its owner published. */
export function standbyView(target: ServerTarget, owner: string | null, calls: number, registering: boolean): ServerView {
  return {
    name: target.name,
    state: 'standby',
    since: new Date().toISOString(),
    connectedSince: null,
    lastError: null,
    nextAttemptAt: null,
    counters: null,
    host: target.host,
    port: target.port,
    calls,
    eventsPerSecond: 0,
    restored: false,
    owner,
    cms: null,
    ...(registering && { cdrRegistration: null }),
  };
}
