// The dashboard's static file handler over a real socket: content types, cache headers,
// conditional requests, and refusal of everything that is not a dashboard file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStaticHandler, requestedFile } from '../src/http/static.js';

let server: Server;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-static-'));
  const root = join(dir, 'dashboard');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'index-abc123.css'), 'body{}');
  writeFileSync(join(root, 'favicon.svg'), '<svg/>');
  writeFileSync(join(root, '.secret'), 'hidden');
  writeFileSync(join(dir, 'outside.txt'), 'outside the root');
  mkdirSync(join(dir, 'dashboard-evil'));
  writeFileSync(join(dir, 'dashboard-evil', 'x.txt'), 'sibling with a common prefix');

  const serve = createStaticHandler(root);
  server = createServer((req, res) => {
    if (serve(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('fallthrough');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so that the path reaches the server exactly as written (no URL normalizing). */
function get(path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Reply> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/ serves index.html, revalidated on every load, with a strict CSP', async () => {
  const reply = await get('/');
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(reply.headers['cache-control'], 'no-cache');
  assert.match(String(reply.headers['content-security-policy']), /default-src 'self'/);
  assert.equal(reply.headers['x-content-type-options'], 'nosniff');
  assert.equal(reply.body, '<!doctype html><title>x</title>');
  assert.equal((await get('/index.html')).status, 200);
  assert.equal((await get('/?server=cms-a&q=alice')).status, 200);
});

test('hashed assets are immutable; other files revalidate; types follow the extension', async () => {
  const js = await get('/assets/index-abc123.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(js.body, 'console.log(1)');
  assert.equal((await get('/assets/index-abc123.css')).headers['content-type'], 'text/css; charset=utf-8');
  const icon = await get('/favicon.svg');
  assert.equal(icon.headers['content-type'], 'image/svg+xml');
  assert.equal(icon.headers['cache-control'], 'no-cache');
});

test('HEAD sends the headers only; a matching ETag gets 304', async () => {
  const head = await get('/assets/index-abc123.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String('console.log(1)'.length));
  assert.equal(head.body, '');
  const etag = String(head.headers.etag);
  const again = await get('/assets/index-abc123.js', 'GET', { 'if-none-match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
  const changed = await get('/assets/index-abc123.js', 'GET', { 'if-none-match': 'W/"other"' });
  assert.equal(changed.status, 200);
});

test('paths outside the root, hidden files, directories and other methods fall through', async () => {
  const refused = [
    '/../outside.txt',
    '/assets/../../outside.txt',
    '/%2e%2e/outside.txt',
    '/assets/%2e%2e/%2e%2e/outside.txt',
    '/assets%2f..%2f..%2foutside.txt',
    '/..%5coutside.txt',
    '/../dashboard-evil/x.txt',
    '/%00index.html',
    '/index.html%00.js',
    '/%E0%A4%A',
    '/.secret',
    '/assets/',
    '/assets',
    '//etc/passwd',
    '/missing.js',
    '/api/servers',
  ];
  for (const path of refused) {
    const reply = await get(path);
    assert.equal(reply.status, 404, `${path} answered ${reply.status}`);
    assert.equal(reply.body, 'fallthrough', path);
  }
  assert.equal((await get('/', 'POST')).status, 404);
  assert.equal((await get('/', 'DELETE')).status, 404);
});

test('requestedFile maps URL paths to files under the root, or refuses them', () => {
  assert.equal(requestedFile('/'), 'index.html');
  assert.equal(requestedFile('/?x=1'), 'index.html');
  assert.equal(requestedFile('/assets/a.js#frag'), 'assets/a.js');
  assert.equal(requestedFile('/a%20b.js'), 'a b.js');
  assert.equal(requestedFile('/a/../b.js'), null);
  assert.equal(requestedFile('/a/%2E%2E/b.js'), null);
  assert.equal(requestedFile('http://evil/x'), null);
  assert.equal(requestedFile('*'), null);
});

test('without a root it serves the build output next to the code, or falls through when unbuilt', async () => {
  const serve = createStaticHandler();
  const probe = createServer((req, res) => {
    if (!serve(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  try {
    const port = (probe.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/`);
    const built = existsSync(new URL('../dist/dashboard/index.html', import.meta.url));
    assert.equal(res.status, built ? 200 : 404);
    if (built) assert.match(await res.text(), /<div id="app">/);
  } finally {
    probe.closeAllConnections();
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
});
