// How the simulated bridge spells HTTP failures: REST errors carry an XML <failureDetails> body
// (docs/protocol.md §1); refused upgrades are written straight to the raw socket.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export function sendFailure(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}): void {
  const body = `<?xml version="1.0"?><failureDetails><${detail} /></failureDetails>`;
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/xml',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Answers an upgrade request with an HTTP error instead of 101, then drops the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${reason}\n`;
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
