// Auth tokens for the event socket. TTL and single use are switches read at check time, so a
// test can shorten the TTL of tokens already issued.
import { randomBytes } from 'node:crypto';
import { realClock, type Clock } from '../clock.js';

export type TokenCheck = 'ok' | 'missing' | 'unknown' | 'used' | 'expired';

interface IssuedToken {
  issuedAt: number;
  used: boolean;
}

/** Forgetting old tokens is batched; a sweep at most this often keeps issuance O(1). */
const SWEEP_EVERY_MS = 1_000;

export class TokenStore {
  private readonly tokens = new Map<string, IssuedToken>();
  private lastSweep = 0;

  constructor(
    private readonly policy: { readonly tokenTtlMs: number; readonly tokenSingleUse: boolean },
    private readonly clock: Clock = realClock,
  ) {}

  issue(): string {
    const now = this.clock.now();
    this.sweep(now);
    const token = randomBytes(18).toString('base64url');
    this.tokens.set(token, { issuedAt: now, used: false });
    return token;
  }

  /** Checks a token presented at a handshake and, when it passes, spends it if tokens are single-use. */
  redeem(token: string | null | undefined): TokenCheck {
    if (!token) return 'missing';
    const issued = this.tokens.get(token);
    if (!issued) return 'unknown';
    if (this.clock.now() - issued.issuedAt > this.policy.tokenTtlMs) return 'expired';
    if (issued.used && this.policy.tokenSingleUse) return 'used';
    issued.used = true;
    return 'ok';
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    const ttl = this.policy.tokenTtlMs;
    // Map order is issue order, so the expired tokens form a prefix.
    for (const [token, issued] of this.tokens) {
      if (now - issued.issuedAt <= ttl) break;
      this.tokens.delete(token);
    }
  }
}
