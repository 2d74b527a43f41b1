// A stored body whose server this instance no longer follows (cluster mode: the lease moved
// between the 200 and the processing, or the instance was killed and came back without it) is
// handed to the instance that follows it now, through the address the CMS itself posts to (its
// registered receiver): that instance's ledger drops what it has announced already, so nothing
// is lost and nothing announced twice.
import { request } from 'undici';

/** POSTs `body` as the CMS would; resolves with the HTTP status (0 when no answer came). */
export async function forwardBody(url: string, body: string, timeoutMs = 10_000): Promise<number> {
  try {
    const response = await request(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body, signal: AbortSignal.timeout(timeoutMs) });
    await response.body.dump();
    return response.statusCode;
  } catch {
    return 0;
  }
}
