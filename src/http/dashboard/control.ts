// Call control from the dashboard: whether the daemon has it (GET /api/control), the token (asked
// once, kept in sessionStorage for this tab only, forgotten when refused), the control routes'
// requests, and which action is in flight or failed for each participant and call, kept here so
// that a redraw of the call never loses it.

const TOKEN_KEY = 'cms-events.controlToken';

export type ControlAction = 'mute' | 'unmute' | 'drop' | 'lock' | 'unlock' | 'end';

/** What a call's or participant's buttons show: the action in flight, or the last failure. */
export type ActionState = { action: ControlAction; busy: true } | { action: ControlAction; busy: false; error: string };

export interface Target {
  server: string;
  callId: string;
  /** Absent: the call itself. */
  participantId?: string;
}

/** GET /api/control: false when the daemon is older, unreachable or has no control token. */
export async function fetchControlEnabled(signal?: AbortSignal): Promise<boolean> {
  try {
    const response = await fetch('api/control', { headers: { accept: 'application/json' }, signal });
    if (!response.ok) return false;
    const body = (await response.json()) as { enabled?: unknown };
    return body.enabled === true;
  } catch {
    return false;
  }
}

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function keepToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage refused (private mode): the token lives until the next prompt.
  }
}

const REQUESTS: Record<ControlAction, { method: 'PATCH' | 'DELETE'; body?: Record<string, boolean> }> = {
  mute: { method: 'PATCH', body: { audioMuted: true } },
  unmute: { method: 'PATCH', body: { audioMuted: false } },
  drop: { method: 'DELETE' },
  lock: { method: 'PATCH', body: { locked: true } },
  unlock: { method: 'PATCH', body: { locked: false } },
  end: { method: 'DELETE' },
};

function routeOf(target: Target): string {
  const call = `api/servers/${encodeURIComponent(target.server)}/calls/${encodeURIComponent(target.callId)}`;
  return target.participantId === undefined ? call : `${call}/participants/${encodeURIComponent(target.participantId)}`;
}

function keyOf(target: Target): string {
  return JSON.stringify([target.server, target.callId, target.participantId ?? null]);
}

/** Sends the actions and remembers their states; `onChange` redraws the call concerned. */
export class ControlClient {
  private readonly states = new Map<string, ActionState>();
  /** The token for when sessionStorage cannot keep it. */
  private memoryToken: string | null = null;

  constructor(
    private readonly onChange: (server: string, callId: string) => void,
    private readonly ask: () => string | null = () => window.prompt('Call control token of this daemon (kept for this tab only):'),
  ) {}

  stateOf(target: Target): ActionState | undefined {
    return this.states.get(keyOf(target));
  }

  /** Runs `action` on `target` unless one is already in flight there. */
  async run(target: Target, action: ControlAction): Promise<void> {
    const key = keyOf(target);
    if (this.states.get(key)?.busy) return;
    const token = this.token();
    if (!token) return this.settle(target, key, { action, busy: false, error: 'No token given: nothing was sent.' });
    this.settle(target, key, { action, busy: true });
    const request = REQUESTS[action];
    let response: Response;
    try {
      response = await fetch(routeOf(target), {
        method: request.method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(request.body ? { 'content-type': 'application/json' } : {}),
        },
        body: request.body ? JSON.stringify(request.body) : undefined,
      });
    } catch {
      return this.settle(target, key, { action, busy: false, error: 'The daemon could not be reached.' });
    }
    if (response.ok) return this.settle(target, key, undefined);
    if (response.status === 401) {
      this.forgetToken();
      return this.settle(target, key, { action, busy: false, error: 'The token was refused and forgotten; the next action asks again.' });
    }
    this.settle(target, key, { action, busy: false, error: await errorOf(response) });
  }

  private token(): string | null {
    const known = readToken() ?? this.memoryToken;
    if (known) return known;
    const given = this.ask()?.trim();
    if (!given) return null;
    this.memoryToken = given;
    keepToken(given);
    return given;
  }

  private forgetToken(): void {
    this.memoryToken = null;
    keepToken(null);
  }

  private settle(target: Target, key: string, state: ActionState | undefined): void {
    if (state) this.states.set(key, state);
    else this.states.delete(key);
    this.onChange(target.server, target.callId);
  }
}

/** The API's `error`, or the status in words. */
async function errorOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: unknown };
    if (typeof body.error === 'string' && body.error) return body.error;
  } catch {
    // Not JSON: the status says enough.
  }
  return `The daemon answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`;
}
