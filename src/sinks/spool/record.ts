// The on-disk form of a spool record, and the only place it is spelled. One record per line:
//   ["id","server","type","ts"]\t<event JSON>\n, or ["id","server","type","ts",epoch] in cluster mode
// JSON.stringify never emits a raw tab or newline, so both split safely. Segment files are
// seg-000000000001.log, seg-000000000002.log, … in the order they were written.

export interface SpoolRecord {
  /** Event id: the de-duplication key downstream. */
  id: string;
  server: string;
  type: string;
  ts: string;
  /** The event JSON, without newline. */
  line: string;
  /** Cluster mode: the epoch of the lease the event was produced under (the NATS sink fences by it). */
  epoch?: number;
  /** Set when the record could not be read back; it cannot be delivered. */
  corrupt?: string;
  /** Bytes the record takes in its segment. */
  bytes: number;
  /** Where it ends: segment and byte offset after its newline (what the cursor stores). */
  seg: number;
  end: number;
  /** Where it starts in the spool's byte stream since open (0 is the delivered cursor at open). */
  pos: number;
}

export const SEGMENT_FILE = /^seg-(\d{12})\.log$/;

export const segmentName = (seq: number): string => `seg-${String(seq).padStart(12, '0')}.log`;

export function encodeRecord(id: string, server: string, type: string, ts: string, line: string, epoch?: number): string {
  const header = epoch === undefined ? [id, server, type, ts] : [id, server, type, ts, epoch];
  return `${JSON.stringify(header)}\t${line}\n`;
}

/** The record in `buffer` from `start` to `end` (its newline excluded); never throws. */
export function parseRecord(buffer: Buffer, start: number, end: number): SpoolRecord {
  const tab = buffer.indexOf(9, start);
  if (tab !== -1 && tab < end) {
    try {
      const header: unknown = JSON.parse(buffer.toString('utf8', start, tab));
      if (Array.isArray(header) && (header.length === 4 || (header.length === 5 && Number.isSafeInteger(header[4]))) && header.slice(0, 4).every((h) => typeof h === 'string')) {
        const [id, server, type, ts, epoch] = header as [string, string, string, string, number | undefined];
        const record: SpoolRecord = { id, server, type, ts, line: buffer.toString('utf8', tab + 1, end), bytes: 0, seg: 0, end: 0, pos: 0 };
        if (epoch !== undefined) record.epoch = epoch;
        return record;
      }
    } catch {
      // fall through: reported as corrupt
    }
  }
  const snippet = buffer.toString('utf8', start, Math.min(end, start + 120));
  return { id: '', server: '', type: '', ts: '', line: '', corrupt: snippet, bytes: 0, seg: 0, end: 0, pos: 0 };
}
