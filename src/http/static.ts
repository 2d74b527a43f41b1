// Serves the dashboard built by Vite (dist/dashboard/) from the daemon itself: GET/HEAD of `/`
// and of the files under the root, nothing else. Anything that is not a dashboard file is left
// to the caller (returns false), so the API routes and the 404 stay in one place.
import { createReadStream, statSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

// Vite puts content-hashed bundles here: a changed file gets a new name, so they never go stale.
const HASHED_PREFIX = '/assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
// Everything else (index.html names the current bundles) is revalidated on every load.
const REVALIDATE = 'no-cache';

// The page loads only its own files and talks only to its own origin.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Where the built dashboard is: next to the compiled module (dist/http/static.js →
 * dist/dashboard/), or, when this file runs from src/ (tsx), in the build output dist/dashboard/.
 */
function defaultRoots(): string[] {
  return [
    fileURLToPath(new URL('../dashboard/', import.meta.url)),
    fileURLToPath(new URL('../../dist/dashboard/', import.meta.url)),
  ];
}

export function createStaticHandler(root?: string | URL): StaticHandler {
  const candidates = root === undefined ? defaultRoots() : [root instanceof URL ? fileURLToPath(root) : root];
  let chosen: string | undefined;
  // Chosen on first use, not at start-up: the daemon may start before the dashboard is built.
  const rootDir = (): string | undefined => {
    chosen ??= candidates.map((dir) => resolve(dir)).find((dir) => isFile(join(dir, 'index.html')));
    return chosen;
  };

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const dir = rootDir();
    if (!dir) return false;
    const relative = requestedFile(req.url ?? '/');
    if (relative === null) return false;
    const file = resolve(dir, relative);
    if (!file.startsWith(dir + sep)) return false;
    const stats = fileStats(file);
    if (!stats) return false;
    send(req, res, file, stats, relative);
    return true;
  };
}

/**
 * The file a URL path names, relative to the root, or null when it cannot be a dashboard file:
 * malformed escapes, NUL, backslashes, dot segments (`..`, also when percent-encoded) and
 * hidden files are refused before the file system is asked.
 */
export function requestedFile(url: string): string | null {
  const queryAt = url.search(/[?#]/);
  const rawPath = queryAt >= 0 ? url.slice(0, queryAt) : url;
  if (!rawPath.startsWith('/')) return null;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  if (path === '/') return 'index.html';
  const segments = path.slice(1).split('/');
  if (segments.some((segment) => segment === '' || segment.startsWith('.'))) return null;
  return segments.join('/');
}

function send(req: IncomingMessage, res: ServerResponse, file: string, stats: Stats, relative: string): void {
  const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': `/${relative}`.startsWith(HASHED_PREFIX) ? IMMUTABLE : REVALIDATE,
    etag,
    'last-modified': stats.mtime.toUTCString(),
    'x-content-type-options': 'nosniff',
  };
  if (relative.endsWith('.html')) {
    headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
    headers['referrer-policy'] = 'no-referrer';
  }
  if (notModified(req, etag, stats)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['content-length'] = String(stats.size);
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function notModified(req: IncomingMessage, etag: string, stats: Stats): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => {
      const trimmed = tag.trim();
      return trimmed === '*' || trimmed === etag || `W/${trimmed}` === etag;
    });
  }
  const ifModifiedSince = req.headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Math.floor(stats.mtimeMs / 1000) * 1000 <= since;
}

function fileStats(file: string): Stats | undefined {
  try {
    const stats = statSync(file);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

function isFile(file: string): boolean {
  return fileStats(file) !== undefined;
}
