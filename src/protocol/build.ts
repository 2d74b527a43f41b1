// Frame building: the only place that knows how envelopes are spelled on the wire.
import type { AnyMessage, Subscription } from './wire.js';

/** `{"type":"messageAck",...}` for a message id; built by concatenation since it runs per message. */
export const buildAck = (messageId: number, status = 'success'): string =>
  status === 'success'
    ? `{"type":"messageAck","messageAck":{"messageId":${messageId},"status":"success"}}`
    : JSON.stringify({ type: 'messageAck', messageAck: { messageId, status } });

export const buildMessage = (message: AnyMessage): string => JSON.stringify({ type: 'message', message });

export const buildSubscribeRequest = (messageId: number, subscriptions: Subscription[]): string =>
  buildMessage({ messageId, type: 'subscribeRequest', subscriptions });
