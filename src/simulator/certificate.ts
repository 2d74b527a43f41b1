// Server certificates. Generating a key pair costs milliseconds and a benchmark runs a thousand
// servers in one process, so each certificate is made once per process and shared. The PEM goes
// to a temporary file so that a human (or the CLI's output) can point a client's `ca` at it.
import { X509Certificate } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface ServerCertificate {
  cert: string;
  key: string;
  /** The certificate a client trusts: the self-signed server certificate itself. */
  caPem: string;
  caPath: string;
  /** SHA-256 of the server certificate, upper-case hex pairs joined by colons. */
  fingerprint: string;
}

const cache = new Map<string, Promise<ServerCertificate>>();
const tempFiles: string[] = [];

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = ['0.0.0.0', '::', ''];

function writeTempPem(pem: string): string {
  if (tempFiles.length === 0) {
    process.once('exit', () => {
      for (const path of tempFiles) {
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to clean.
        }
      }
    });
  }
  const path = join(tmpdir(), `cms-events-simulator-${process.pid}-${tempFiles.length + 1}.pem`);
  writeFileSync(path, pem, { mode: 0o644 });
  tempFiles.push(path);
  return path;
}

async function generateFor(host: string): Promise<ServerCertificate> {
  const names = new Set([...LOOPBACK_NAMES, hostname()]);
  if (!WILDCARDS.includes(host)) names.add(host);
  const altNames = [...names].map((name) =>
    isIP(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name },
  );
  const pems = await generate([{ name: 'commonName', value: 'cms-events simulator' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    // A day of slack so a client with a slightly late clock still accepts it.
    notBeforeDate: new Date(Date.now() - 86_400_000),
    extensions: [
      // Self-signed and also its own trust anchor, so `ca: caPem` verifies it.
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return {
    cert: pems.cert,
    key: pems.private,
    caPem: pems.cert,
    caPath: writeTempPem(pems.cert),
    fingerprint: new X509Certificate(pems.cert).fingerprint256,
  };
}

/** A self-signed certificate valid for loopback, this machine's name and `host`; made once per host. */
export function selfSignedCertificate(host: string): Promise<ServerCertificate> {
  const key = WILDCARDS.includes(host) || LOOPBACK_NAMES.includes(host) ? '' : host;
  let pending = cache.get(key);
  if (!pending) {
    pending = generateFor(key);
    // A failed generation must not poison every later server.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}

const isPem = (text: string) => text.includes('-----BEGIN');

const givenCache = new Map<string, ServerCertificate>();

/** A certificate the caller supplies, as PEM text or as paths to PEM files; read once per process. */
export function givenCertificate(given: { cert: string; key: string }): ServerCertificate {
  const cacheKey = `${given.cert}\0${given.key}`;
  const cached = givenCache.get(cacheKey);
  if (cached) return cached;
  const cert = isPem(given.cert) ? given.cert : readFileSync(given.cert, 'utf8');
  const key = isPem(given.key) ? given.key : readFileSync(given.key, 'utf8');
  const certificate = {
    cert,
    key,
    caPem: cert,
    caPath: isPem(given.cert) ? writeTempPem(cert) : given.cert,
    fingerprint: new X509Certificate(cert).fingerprint256,
  };
  givenCache.set(cacheKey, certificate);
  return certificate;
}
