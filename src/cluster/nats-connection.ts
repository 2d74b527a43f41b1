// The cluster's NATS connection: the configured servers, credentials (a creds file, a token,
// or a user and password, each inline or from a file) and TLS, reconnecting for ever. None of
// the secrets ever reaches a log line or an error: they are registered with the logger's
// redaction before anything can print them.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { credsAuthenticator, type ConnectionOptions } from '@nats-io/nats-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConfigError } from '../hub/config-error.js';
import type { ClusterConfig } from '../hub/config-schema.js';
import { registerSecret } from '../hub/logger.js';

/** The connection options the `cluster` section asks for; throws a ConfigError naming the field that cannot be read. */
export function natsOptions(config: ClusterConfig, baseDir: string, origin: string, instance: string): ConnectionOptions {
  const read = (file: string, field: string): string => {
    try {
      const text = readFileSync(resolve(baseDir, file), 'utf8').trim();
      if (text === '') throw new Error('the file is empty');
      return text;
    } catch (error) {
      throw new ConfigError(origin, [{ field: `cluster.${field}`, problem: `cannot read ${file}: ${(error as Error).message}` }]);
    }
  };
  const options: ConnectionOptions = {
    servers: config.nats,
    name: `cms-events ${instance}`,
    // Once connected, never give up: while NATS is away nobody can hold a lease, and following
    // resumes when it is back. The first connection fails fast instead, so that the caller can
    // say that NATS cannot be reached (and retries itself).
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    timeout: 5_000,
  };
  if (config.credsFile !== undefined) {
    options.authenticator = credsAuthenticator(new TextEncoder().encode(read(config.credsFile, 'credsFile')));
  }
  const token = config.token ?? (config.tokenFile !== undefined ? read(config.tokenFile, 'tokenFile') : undefined);
  if (token !== undefined) {
    registerSecret(token);
    options.token = token;
  }
  if (config.user !== undefined) {
    const pass = config.password ?? read(config.passwordFile!, 'passwordFile');
    registerSecret(pass);
    options.user = config.user;
    options.pass = pass;
  }
  if (config.tls !== undefined) {
    options.tls = {
      ...(config.tls.ca !== undefined && { caFile: resolve(baseDir, config.tls.ca) }),
      ...(config.tls.cert !== undefined && { certFile: resolve(baseDir, config.tls.cert) }),
      ...(config.tls.key !== undefined && { keyFile: resolve(baseDir, config.tls.key) }),
    };
  }
  return options;
}

export function connectNats(options: ConnectionOptions): Promise<NatsConnection> {
  return connect(options);
}
