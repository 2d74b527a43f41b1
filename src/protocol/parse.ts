// Frame parsing. Returns a typed result or a typed error and never throws: a bad frame from a
// server must cost one counter increment, not a feed. Shape checks are hand-written because
// this runs once per message on the stop-and-wait path, where a generic validator costs rate.
import type {
  ClientMessage,
  MessageAck,
  ServerMessage,
  Subscription,
  SubscriptionStatus,
} from './wire.js';
import { SUBSCRIPTION_TYPES, type SubscriptionType } from './elements.js';

export type FrameErrorCode = 'malformedJson' | 'unknownEnvelope' | 'unknownMessageType' | 'badShape';

export interface FrameError {
  code: FrameErrorCode;
  /** Says what is wrong, in words; never contains the frame itself (it may be huge). */
  detail: string;
  /** The id of a server `message` when it could be read, so a client can still ack a message it cannot use. */
  messageId?: number;
}


export type Parsed<M> =
  | { ok: true; kind: 'message'; message: M }
  | { ok: true; kind: 'messageAck'; ack: MessageAck }
  | { ok: false; error: FrameError };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const fail = (code: FrameErrorCode, detail: string, messageId?: number) =>
  ({ ok: false, error: messageId === undefined ? { code, detail } : { code, detail, messageId } }) as const;

function decode(data: string | Buffer | ArrayBuffer | Buffer[]): { ok: true; value: unknown } | { ok: false; error: FrameError } {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (Array.isArray(data)) text = Buffer.concat(data).toString('utf8');
  else if (data instanceof ArrayBuffer) text = Buffer.from(data).toString('utf8');
  else text = data.toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return fail('malformedJson', `not JSON (${(error as Error).message})`);
  }
}

/** Reads the envelope; hands the inner message to `readMessage`. */
function parseEnvelope<M>(
  data: string | Buffer | ArrayBuffer | Buffer[],
  readMessage: (message: Json, messageId: number) => Parsed<M>,
): Parsed<M> {
  const decoded = decode(data);
  if (!decoded.ok) return decoded;
  const frame = decoded.value;
  if (!isObject(frame)) return fail('unknownEnvelope', 'frame is not a JSON object');
  if (frame.type === 'messageAck') {
    const ack = frame.messageAck;
    if (!isObject(ack) || !isId(ack.messageId)) return fail('badShape', 'messageAck without a numeric messageId');
    // No messageId on this error: it belongs to an ack, which must never be acked.
    if (typeof ack.status !== 'string') return fail('badShape', 'messageAck without a status');
    return { ok: true, kind: 'messageAck', ack: ack as unknown as MessageAck };
  }
  if (frame.type === 'message') {
    const message = frame.message;
    if (!isObject(message)) return fail('badShape', 'message envelope without a message object');
    if (!isId(message.messageId)) return fail('badShape', 'message without a numeric messageId');
    if (typeof message.type !== 'string') return fail('badShape', 'message without a type', message.messageId);
    return readMessage(message, message.messageId);
  }
  return fail('unknownEnvelope', `unknown envelope type ${JSON.stringify(String(frame.type)).slice(0, 60)}`);
}

function checkEntries(updates: unknown, idField: 'call' | 'participant', messageId: number): FrameError | undefined {
  if (!Array.isArray(updates)) return { code: 'badShape', detail: 'updates is not an array', messageId };
  for (const entry of updates) {
    if (!isObject(entry)) return { code: 'badShape', detail: 'an update is not an object', messageId };
    if (typeof entry[idField] !== 'string') return { code: 'badShape', detail: `an update has no ${idField} id`, messageId };
    const kind = entry.updateType;
    if (kind !== 'add' && kind !== 'update' && kind !== 'remove') {
      return { code: 'badShape', detail: `unknown updateType ${JSON.stringify(String(kind)).slice(0, 40)}`, messageId };
    }
  }
  return undefined;
}

function readServerMessage(message: Json, messageId: number): Parsed<ServerMessage> {
  switch (message.type) {
    case 'subscriptionUpdate': {
      const subs = message.subscriptions;
      if (!Array.isArray(subs) || !subs.every((s) => isObject(s) && isId(s.index) && typeof s.state === 'string')) {
        return fail('badShape', 'subscriptionUpdate without a valid subscriptions list', messageId);
      }
      break;
    }
    case 'callListUpdate':
    case 'rosterUpdate': {
      if (!isId(message.subscriptionIndex)) return fail('badShape', `${message.type} without a subscriptionIndex`, messageId);
      const error = checkEntries(message.updates, message.type === 'callListUpdate' ? 'call' : 'participant', messageId);
      if (error) return { ok: false, error };
      break;
    }
    case 'callInfoUpdate':
      if (!isId(message.subscriptionIndex)) return fail('badShape', 'callInfoUpdate without a subscriptionIndex', messageId);
      if (!isObject(message.callInfo)) return fail('badShape', 'callInfoUpdate without a callInfo object', messageId);
      break;
    default:
      return fail('unknownMessageType', `unknown message type ${JSON.stringify(message.type).slice(0, 60)}`, messageId);
  }
  return { ok: true, kind: 'message', message: message as unknown as ServerMessage };
}

function readSubscription(value: unknown): value is Subscription {
  if (!isObject(value) || !isId(value.index)) return false;
  if (!SUBSCRIPTION_TYPES.includes(value.type as SubscriptionType)) return false;
  if (value.type !== 'calls' && typeof value.call !== 'string') return false;
  return value.elements === undefined || (Array.isArray(value.elements) && value.elements.every((e) => typeof e === 'string'));
}

function readClientMessage(message: Json, messageId: number): Parsed<ClientMessage> {
  if (message.type !== 'subscribeRequest') {
    return fail('unknownMessageType', `unknown message type ${JSON.stringify(message.type).slice(0, 60)}`, messageId);
  }
  const subs = message.subscriptions;
  if (!Array.isArray(subs)) return fail('badShape', 'subscribeRequest without a subscriptions array', messageId);
  for (const sub of subs) {
    if (!readSubscription(sub)) return fail('badShape', 'subscribeRequest has an invalid subscription', messageId);
  }
  return { ok: true, kind: 'message', message: message as unknown as ClientMessage };
}

/** Parses a frame a client received from a server. */
export const parseServerFrame = (data: string | Buffer | ArrayBuffer | Buffer[]): Parsed<ServerMessage> =>
  parseEnvelope(data, readServerMessage);

/** Parses a frame a server received from a client (used by the simulator). */
export const parseClientFrame = (data: string | Buffer | ArrayBuffer | Buffer[]): Parsed<ClientMessage> =>
  parseEnvelope(data, readClientMessage);

export type { SubscriptionStatus };
