// A server's name as a NATS KV key. Keys may hold `[-/_=.a-zA-Z0-9]`, but '.' and '/' separate
// subject tokens (a key is the tail of a subject, so "a.b" would match a watch on "a.*"), so
// only `[-_a-zA-Z0-9]` is kept as is and every other UTF-8 byte becomes `=HH` (upper-case hex).
// '=' itself is encoded, so decoding is unambiguous; the encoding is canonical (a byte that may
// stand for itself never appears as `=HH`), so one name has exactly one key.

const KEPT = /^[-_a-zA-Z0-9]$/;
const ENCODED_KEY = /^(?:[-_a-zA-Z0-9]|=[0-9A-F]{2})+$/;
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** The KV key for a server name (any non-empty string). */
export function serverKey(name: string): string {
  if (name.length === 0) throw new Error('a server name cannot be empty');
  let key = '';
  for (const byte of encoder.encode(name)) {
    const char = String.fromCharCode(byte);
    key += KEPT.test(char) ? char : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return key;
}

/** The server name a key stands for, or undefined when the key is not serverKey's encoding of any name. */
export function serverFromKey(key: string): string | undefined {
  if (!ENCODED_KEY.test(key)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < key.length; ) {
    if (key[i] === '=') {
      bytes.push(parseInt(key.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(key.charCodeAt(i));
      i += 1;
    }
  }
  let name: string;
  try {
    name = strictDecoder.decode(Uint8Array.from(bytes));
  } catch {
    return undefined; // not UTF-8
  }
  // Non-canonical spellings ("=41" for "A") name no key serverKey would write.
  return serverKey(name) === key ? name : undefined;
}
