// The `cdr` section of the config (README.md, "Call detail records"): where the receiver listens,
// how the CMSs reach it, its token, and whether the daemon registers itself on each CMS.
import { z } from 'zod';

export const cdrConfigSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8444),
      })
      .default({ host: '0.0.0.0', port: 8444 }),
    /** How the CMSs reach the receiver (scheme, host, port; no path, no query): used for registration. */
    publicUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .refine((url) => { const u = new URL(url); return (u.pathname === '/' || u.pathname === '') && u.search === '' && u.hash === ''; }, { error: 'must be only scheme, host and port (the daemon adds /cdr/<server>?token=…)' })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    token: z.string().min(16, { error: 'must be at least 16 characters' }).regex(/^[A-Za-z0-9._~-]+$/, { error: 'must be URL-safe: letters, digits, ".", "_", "~" or "-"' }).optional(),
    tokenEnv: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    /** Add our receiver on each CMS (and delete it when the server is removed) through its REST API. */
    register: z.boolean().default(false),
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    maxBodyBytes: z.number().int().min(1024, { error: 'must be at least 1024' }).optional(),
  })
  .refine((c) => [c.token, c.tokenEnv, c.tokenFile].filter((v) => v !== undefined).length <= 1, {
    error: 'give at most one of token, tokenEnv or tokenFile',
    path: ['token'],
  })
  // Without publicUrl the listener's own address is registered: a wildcard host is no address a CMS can post to.
  .refine((c) => !c.register || c.publicUrl !== undefined || !['0.0.0.0', '::', '[::]'].includes(c.listen.host), {
    error: 'register: true needs publicUrl (how the CMSs reach this receiver), or a listen.host the CMSs can reach (not a wildcard)',
    path: ['publicUrl'],
  });

export type CdrConfig = z.output<typeof cdrConfigSchema>;
