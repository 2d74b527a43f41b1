// The webhook signature, shared by the sender and by receivers written in TypeScript.
import { createHmac } from 'node:crypto';

/** Carries `sha256=<hex of HMAC-SHA256(secret, exact body bytes)>`. */
export const SIGNATURE_HEADER = 'x-cms-events-signature';

export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
