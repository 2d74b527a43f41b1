// Typed transport errors: every failure on the way to (and on) an event socket becomes one
// TransportError with a kind the session acts on (auth/tls retry slowly, the rest back off) and
// a message an operator can act on. Messages never carry the password, the token or the
// `authToken=` URL: foreign error texts are redacted before they are kept.
import { redact } from '../secrets.js';
import type { ErrorKind } from './types.js';

export { redact };

export type TransportErrorCode =
  | 'AUTH_REJECTED' // auth: 401 on the token request
  | 'TLS_UNTRUSTED' // tls: the certificate chain does not verify
  | 'TLS_HOSTNAME' // tls: the certificate does not name the host
  | 'TLS_EXPIRED' // tls: outside its validity period
  | 'TLS_FINGERPRINT' // tls: the pinned fingerprint does not match
  | 'NETWORK' // network: refused, reset, unreachable, DNS, TLS transport errors
  | 'TIMEOUT' // network: a phase took too long
  | 'TOKEN_REFUSED' // handshake: the token request answered an error status other than 401
  | 'UPGRADE_REFUSED' // handshake: the WebSocket upgrade answered something other than 101
  | 'PROTOCOL' // protocol: the server broke the protocol
  | 'CLOSED' // closed: the server (or the network) closed an open socket
  | 'LEASE_LOST'; // closed: cluster mode, this instance no longer holds the server's lease

export interface TransportErrorOptions {
  cause?: unknown;
  /** HTTP status, for TOKEN_REFUSED / UPGRADE_REFUSED / AUTH_REJECTED. */
  status?: number;
}

export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly kind: ErrorKind;
  readonly code: TransportErrorCode;
  readonly status: number | undefined;

  constructor(kind: ErrorKind, code: TransportErrorCode, message: string, options: TransportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = code;
    this.status = options.status;
  }
}

/** Node's certificate verification codes, in words (the code follows in brackets). */
const TLS_REASONS: Record<string, [TransportErrorCode, string]> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: ['TLS_UNTRUSTED', 'its certificate is self-signed and not trusted'],
  SELF_SIGNED_CERT_IN_CHAIN: ['TLS_UNTRUSTED', 'its certificate chain ends in a self-signed CA that is not trusted'],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: ['TLS_UNTRUSTED', 'its certificate cannot be verified against the trusted CAs'],
  UNABLE_TO_GET_ISSUER_CERT: ['TLS_UNTRUSTED', 'the issuer of its certificate is unknown'],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: ['TLS_UNTRUSTED', 'the issuer of its certificate is not trusted'],
  CERT_SIGNATURE_FAILURE: ['TLS_UNTRUSTED', 'its certificate signature is invalid'],
  CERT_UNTRUSTED: ['TLS_UNTRUSTED', 'its certificate is not trusted'],
  CERT_REJECTED: ['TLS_UNTRUSTED', 'its certificate is rejected'],
  CERT_REVOKED: ['TLS_UNTRUSTED', 'its certificate is revoked'],
  INVALID_CA: ['TLS_UNTRUSTED', 'a CA certificate in its chain is invalid'],
  CERT_HAS_EXPIRED: ['TLS_EXPIRED', 'its certificate has expired'],
  CERT_NOT_YET_VALID: ['TLS_EXPIRED', 'its certificate is not valid yet'],
  ERR_TLS_CERT_ALTNAME_INVALID: ['TLS_HOSTNAME', 'its certificate does not name this host'],
  HOSTNAME_MISMATCH: ['TLS_HOSTNAME', 'its certificate does not name this host'],
};

const TLS_ADVICE = 'give tls.ca (the CA that signed it) or tls.fingerprint (a SHA-256 pin); tls.insecure skips checks';

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection broken',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'host name lookup failed for now (DNS)',
  EADDRNOTAVAIL: 'address not available',
  ERR_SOCKET_CLOSED: 'socket closed',
  UND_ERR_SOCKET: 'socket error',
};

/**
 * Turns anything a socket, TLS or HTTP layer threw into a TransportError. `where` names the step
 * and the peer ("token request to cms-a.example:445"); `secrets` are redacted from foreign text.
 */
export function classifyError(error: unknown, where: string, secrets: readonly string[]): TransportError {
  if (error instanceof TransportError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const rawMessage = error instanceof Error ? error.message : String(error);
  const text = redact(rawMessage, secrets);
  const cause = text === rawMessage ? error : Object.assign(new Error(text), code ? { code } : {});

  const tls = code ? TLS_REASONS[code] : undefined;
  if (tls) {
    return new TransportError('tls', tls[0], `${where}: the server's TLS certificate is rejected: ${tls[1]} (${code}); ${TLS_ADVICE}`, {
      cause,
    });
  }
  const network = code ? NETWORK_REASONS[code] : undefined;
  const reason = network ? `${network} (${code})` : code ? `${text} (${code})` : text;
  return new TransportError('network', 'NETWORK', `${where}: ${reason}`, { cause });
}
