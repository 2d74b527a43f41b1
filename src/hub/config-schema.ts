// The config file's schema (README.md, "Running it against real servers"). zod gives each problem a path, so
// errors can name the field; strict objects catch typos instead of silently ignoring them.
import { z } from 'zod';
import { CALL_ELEMENTS, CALL_INFO_ELEMENTS, CALL_ROSTER_ELEMENTS } from '../protocol/index.js';
import { sinksConfigSchema } from '../sinks/config.js';
import { cdrConfigSchema } from '../cdr/config.js';

const tlsSchema = z
  .strictObject({
    ca: z.string().min(1).optional().describe('PEM file with the CA that signs the server certificate'),
    fingerprint: z
      .string()
      .regex(/^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/, 'must be a SHA-256 fingerprint: 64 hex digits, colons allowed')
      .optional(),
    insecure: z.boolean().optional(),
  })
  .refine((tls) => !(tls.insecure && (tls.ca || tls.fingerprint)), {
    message: 'insecure: true turns verification off; it cannot be combined with ca or fingerprint',
  });

const elementsSchema = z
  .strictObject({
    calls: z.array(z.enum(CALL_ELEMENTS)).min(1).optional(),
    callInfo: z.array(z.enum(CALL_INFO_ELEMENTS)).min(1).optional(),
    callRoster: z.array(z.enum(CALL_ROSTER_ELEMENTS)).min(1).optional(),
  })
  .optional();

export const serverConfigSchema = z
  .object({
    name: z.string().min(1).regex(/^[^/\s]+$/, 'must not contain spaces or slashes (it is used in URLs)'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(443),
    username: z.string().min(1),
    password: z.string().min(1).optional(),
    passwordEnv: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    tls: tlsSchema.optional(),
    /** Plain HTTP/WS, for the simulator's --no-tls mode only: real servers always use TLS. */
    plain: z.boolean().optional(),
    elements: elementsSchema,
    /** Directory entries may carry this; inactive servers are skipped. */
    active: z.boolean().optional(),
  })
  .strict()
  .refine((s) => [s.password, s.passwordEnv, s.passwordFile].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of password, passwordEnv or passwordFile',
    path: ['password'],
  });

const natsUrl = z.url({ protocol: /^(nats|tls|wss?)$/, error: 'must be a nats://, tls://, ws:// or wss:// URL' });

/**
 * `cluster` (README.md, "Running several instances"): the instances share the server list
 * through NATS JetStream, each server followed by exactly one of them.
 */
export const clusterConfigSchema = z
  .strictObject({
    /** One URL, several separated by commas, or a list. */
    nats: z
      .union([z.string(), z.array(z.string()).min(1, { error: 'must list at least one NATS server' })])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
      .pipe(z.array(natsUrl).min(1, { error: 'must list at least one NATS server' })),
    /** This instance's name among the others; default `<host name>-<process id>`. Used as a NATS key. */
    instance: z
      .string()
      .regex(/^[-_a-zA-Z0-9]{1,64}$/, { error: 'must be 1–64 letters, digits, "-" or "_"' })
      .optional(),
    /** How long a lease lasts without renewal: a dead instance's servers are taken over after about this long. */
    leaseSeconds: z.number().min(1, { error: 'must be at least 1' }).max(300, { error: 'must be at most 300' }).default(6),
    credsFile: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    tls: z
      .strictObject({
        ca: z.string().min(1).optional(),
        cert: z.string().min(1).optional(),
        key: z.string().min(1).optional(),
      })
      .refine((t) => (t.cert === undefined) === (t.key === undefined), { error: 'give cert and key together (a client certificate)' })
      .optional(),
  })
  .refine((c) => [c.credsFile, c.token ?? c.tokenFile, c.user].filter((v) => v !== undefined).length <= 1, {
    error: 'give at most one way to authenticate: credsFile, token (or tokenFile), or user with password (or passwordFile)',
    path: ['credsFile'],
  })
  .refine((c) => !(c.token !== undefined && c.tokenFile !== undefined), { error: 'give token or tokenFile, not both', path: ['token'] })
  .refine((c) => c.user !== undefined || (c.password === undefined && c.passwordFile === undefined), {
    error: 'password and passwordFile need user',
    path: ['password'],
  })
  .refine((c) => !(c.password !== undefined && c.passwordFile !== undefined), { error: 'give password or passwordFile, not both', path: ['password'] })
  .refine((c) => c.user === undefined || c.password !== undefined || c.passwordFile !== undefined, { error: 'user needs password or passwordFile', path: ['user'] });

export const configSchema = z
  .strictObject({
    servers: z.array(serverConfigSchema).optional(),
    serversUrl: z.url({ protocol: /^https?$/ }).optional(),
    serversRefreshSeconds: z.number().positive().default(60),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Turns the control routes on: requests need `Authorization: Bearer <token>`. */
        controlToken: z.string().min(16, 'must be at least 16 characters').optional(),
        controlTokenEnv: z.string().min(1).optional(),
        controlTokenFile: z.string().min(1).optional(),
      })
      .refine((h) => [h.controlToken, h.controlTokenEnv, h.controlTokenFile].filter((v) => v !== undefined).length <= 1, {
        message: 'give at most one of controlToken, controlTokenEnv or controlTokenFile',
        path: ['controlToken'],
      })
      .optional(),
    /** Absent: events go to stdout as NDJSON (the contract); `[]` for none. */
    sinks: sinksConfigSchema,
    handlers: z.string().min(1).optional().describe('module whose exports register handlers'),
    dispatch: z
      .strictObject({
        queueSize: z.number().int().positive().default(10_000),
        ackAfterHandlers: z.boolean().default(false),
        handlerTimeoutMs: z.number().int().positive().default(10_000),
      })
      .default({ queueSize: 10_000, ackAfterHandlers: false, handlerTimeoutMs: 10_000 }),
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).optional(),
    /**
     * Where each server's model is kept across restarts, relative to the config file. Absent:
     * `state` beside the config file (in library use without a config file: memory only); null:
     * memory only.
     */
    stateDir: z.string().min(1).nullable().optional(),
    /** Each CMS's own health (status and alarms) read through its REST API. */
    health: z
      .strictObject({ intervalSeconds: z.number().min(1, { error: 'must be at least 1' }).default(30) })
      .default({ intervalSeconds: 30 }),
    /** The CDR receiver (README.md, "Call detail records"); absent: none. */
    cdr: cdrConfigSchema.optional(),
    /** Several instances sharing the servers through NATS; absent: this process follows every server. */
    cluster: clusterConfigSchema.optional(),
  })
  .refine((c) => (c.servers === undefined) !== (c.serversUrl === undefined), {
    message: 'give either servers or serversUrl (exactly one)',
    path: ['servers'],
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.servers?.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', message: `duplicate server name "${s.name}"`, path: ['servers', i, 'name'] });
      seen.add(s.name);
    });
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ServerConfig = z.output<typeof serverConfigSchema>;
export type ClusterConfig = z.output<typeof clusterConfigSchema>;
