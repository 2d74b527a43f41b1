// The `sinks` section of the config. The main config schema embeds `sinksConfigSchema`; every
// default lives here, so that a reader sees at one glance what a sink does when left alone.
import { z } from 'zod';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const SINK_TYPES = ['stdout', 'file', 'webhook', 'redis', 'nats'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
    error: 'must be 1-64 characters of letters, digits, "_", "." or "-" (it names the spool folder and the metrics label)',
  })
  .optional();

const positiveInt = (min: number, max: number, what: string) =>
  z.int({ error: `must be a whole number (${what})` }).min(min, { error: `must be at least ${min} (${what})` }).max(max, {
    error: `must be at most ${max} (${what})`,
  });

/** Shared by every sink that delivers through an on-disk spool (all but stdout). */
const spooled = {
  name,
  /** Folder of this sink's spool; relative to the config file. Default: `spool/<name>`. */
  spoolDir: z.string().min(1, { error: 'must not be empty' }).optional(),
  /** Undelivered bytes the spool may hold before `write` holds the hub back. */
  spoolMaxBytes: positiveInt(64 * KiB, Number.MAX_SAFE_INTEGER, 'bytes').default(1 * GiB),
  /** First retry delay after a failed delivery; doubles up to `backoffMaxMs`. */
  backoffInitialMs: positiveInt(1, 3_600_000, 'milliseconds').default(500),
  backoffMaxMs: positiveInt(1, 3_600_000, 'milliseconds').default(30_000),
};

const timeoutMs = positiveInt(100, 600_000, 'milliseconds').default(10_000);

const backoffOrder = (c: { backoffInitialMs: number; backoffMaxMs: number }) => c.backoffMaxMs >= c.backoffInitialMs;
const backoffOrderError = { error: 'backoffMaxMs must not be smaller than backoffInitialMs', path: ['backoffMaxMs'] };

export const stdoutSinkSchema = z.strictObject({
  type: z.literal('stdout'),
  name,
});

export const fileSinkSchema = z
  .strictObject({
    type: z.literal('file'),
    ...spooled,
    /** The NDJSON file; relative to the config file. */
    path: z.string({ error: 'is required (the file to write, e.g. "events.ndjson")' }).min(1, { error: 'must not be empty' }),
    /** Size at which the file is rotated (events.ndjson → events.ndjson.1 → …). */
    maxBytes: positiveInt(1 * KiB, Number.MAX_SAFE_INTEGER, 'bytes').default(100 * MiB),
    /** Rotated files kept besides the live one; older ones are deleted. */
    maxFiles: positiveInt(1, 1000, 'files').default(5),
  })
  .refine(backoffOrder, backoffOrderError);

export const webhookSinkSchema = z
  .strictObject({
    type: z.literal('webhook'),
    ...spooled,
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    /** Key of the HMAC-SHA256 signature header; without it requests are not signed. */
    secret: z.string().min(8, { error: 'must be at least 8 characters' }).optional(),
    /** Events per POST (the body is a JSON array). */
    batch: positiveInt(1, 10_000, 'events').default(100),
    /** Whole request, from connect to the end of the response. */
    timeoutMs,
  })
  .refine(backoffOrder, backoffOrderError);

export const redisSinkSchema = z
  .strictObject({
    type: z.literal('redis'),
    ...spooled,
    url: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
    /** Stream key, or key prefix with `streamPerServer` (`<stream>:<server>`). */
    stream: z.string().min(1, { error: 'must not be empty' }).default('cms-events'),
    /** Approximate cap on each stream's length (`XADD … MAXLEN ~`). */
    maxLen: positiveInt(1, Number.MAX_SAFE_INTEGER, 'entries').default(1_000_000),
    streamPerServer: z.boolean().default(false),
    /** Events per pipelined transaction. */
    batch: positiveInt(1, 10_000, 'events').default(500),
    timeoutMs,
  })
  .refine(backoffOrder, backoffOrderError);

const natsUrl = z.url({ protocol: /^(nats|tls|wss?)$/, error: 'must be a nats://, tls://, ws:// or wss:// URL' });
const subjectToken = /^[^\s.*>]+$/;

export const natsSinkSchema = z
  .strictObject({
    type: z.literal('nats'),
    ...spooled,
    /** One URL, several separated by commas, or a list. Credentials may sit in the URL. */
    servers: z
      .union([z.string(), z.array(z.string()).min(1, { error: 'must list at least one server' })])
      .default('nats://127.0.0.1:4222')
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
      .pipe(z.array(natsUrl).min(1, { error: 'must list at least one server' })),
    /** Subject prefix: events go to `<subject>.<server>.<type>`. */
    subject: z
      .string()
      .refine((s) => s.split('.').every((t) => subjectToken.test(t)), {
        error: 'must be dot-separated tokens without spaces or wildcards, e.g. "cms.events"',
      })
      .default('cms.events'),
    /** JetStream stream; created (subjects `<subject>.>`) when missing. */
    stream: z
      .string()
      .regex(/^[^\s.*>/\\]+$/, { error: 'must not contain spaces, ".", "*", ">", "/" or "\\"' })
      .default('CMS_EVENTS'),
    /** Messages published before waiting for their acks. */
    batch: positiveInt(1, 10_000, 'events').default(500),
    /** Publish-ack wait per message. */
    timeoutMs,
  })
  .refine(backoffOrder, backoffOrderError);

export const sinkConfigSchema = z.discriminatedUnion(
  'type',
  [stdoutSinkSchema, fileSinkSchema, webhookSinkSchema, redisSinkSchema, natsSinkSchema],
  {
    error: (issue) =>
      issue.code === 'invalid_union' ? `type must be one of ${SINK_TYPES.map((t) => `"${t}"`).join(', ')}` : undefined,
  },
);

/** The whole `sinks` section: with none configured, events go to stdout. */
export const sinksConfigSchema = z
  .array(sinkConfigSchema)
  .default([{ type: 'stdout' }])
  .superRefine((sinks, ctx) => {
    const names = sinkNames(sinks);
    const seen = new Map<string, number>();
    names.forEach((n, i) => {
      const first = seen.get(n);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicates the name of sink ${first} ("${n}")` });
      } else {
        seen.set(n, i);
      }
    });
    const stdouts = sinks.filter((s) => s.type === 'stdout').length;
    if (stdouts > 1) ctx.addIssue({ code: 'custom', path: [], message: 'at most one stdout sink' });
  });

export type SinkConfig = z.output<typeof sinkConfigSchema>;
export type SinkConfigInput = z.input<typeof sinkConfigSchema>;
export type StdoutSinkConfig = z.output<typeof stdoutSinkSchema>;
export type FileSinkConfig = z.output<typeof fileSinkSchema>;
export type WebhookSinkConfig = z.output<typeof webhookSinkSchema>;
export type RedisSinkConfig = z.output<typeof redisSinkSchema>;
export type NatsSinkConfig = z.output<typeof natsSinkSchema>;

/**
 * The name of each sink: its `name`, else its type, with `-2`, `-3`… for later sinks of the
 * same type. The first sink of a type keeps its plain name when another is added after it, so
 * its default spool folder does not move; set `name` explicitly when sinks are reordered.
 */
export function sinkNames(sinks: readonly { type: string; name?: string | undefined }[]): string[] {
  const perType = new Map<string, number>();
  return sinks.map((s) => {
    const n = (perType.get(s.type) ?? 0) + 1;
    perType.set(s.type, n);
    return s.name ?? (n === 1 ? s.type : `${s.type}-${n}`);
  });
}
