// The config file's schema (README.md, "Running it against real servers"). zod gives each problem a path, so
// errors can name the field; strict objects catch typos instead of silently ignoring them.
import { z } from 'zod';
import { CALL_ELEMENTS, CALL_INFO_ELEMENTS, CALL_ROSTER_ELEMENTS } from '../protocol/index.js';
import { sinksConfigSchema } from '../sinks/config.js';

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
