// Types the transport defines and the layers above re-export: the TLS settings of a server and
// the kinds of failure the session acts on.

export interface TlsOptions {
  /** PEM text of the CA bundle that signs the server certificate (the hub reads files). */
  ca?: string | Buffer;
  /** SHA-256 fingerprint of the server certificate, hex with or without colons, any case. */
  fingerprint?: string;
  /** No verification at all; logged as a warning at every connect. */
  insecure?: boolean;
}

export type ErrorKind =
  | 'auth' // 401 on the token request
  | 'tls' // certificate verification or fingerprint mismatch
  | 'network' // refused, reset, DNS, timeouts
  | 'handshake' // the WebSocket upgrade was refused
  | 'protocol' // the server broke the protocol (e.g. a subscription never became active)
  | 'closed'; // the server closed the socket
