// One event socket, server side: the outgoing queue and its ack window, the ack timeout, the
// subscription set, and the record of every protocol rule the client breaks.
import type { WebSocket, RawData } from 'ws';
import type { TimerHandle } from '../clock.js';
import type { ConnectionFigures } from './types.js';
import { buildAck, buildMessage, parseClientFrame, type FrameError, type ServerMessage, type SubscribeRequest } from '../protocol/index.js';
import { checkRequest, SubscriptionIndex, type LiveSubscription } from './subscriptions.js';
import { deltaMessages, lateRosterUpdate, snapshot, subscriptionUpdate } from './updates.js';
import type { ConnectionHost } from './connection-host.js';
import type { CallRecord, WorldChange } from './world.js';

export type { ConnectionHost };

/** Client message ids we acked, kept only to tell an ack of our messageAck from other bad acks. */
const REMEMBERED_CLIENT_IDS = 64;
/** Queue slots consumed before the array is compacted. */
const COMPACT_AFTER = 1024;

const FRAME_ERROR_KINDS: Record<FrameError['code'], string> = {
  malformedJson: 'badJson',
  unknownEnvelope: 'unknownEnvelope',
  unknownMessageType: 'unknownMessageType',
  badShape: 'malformedFrame',
};

export class EventConnection {
  private nextMessageId = 1;
  private readonly queue: ServerMessage[] = [];
  private head = 0;
  /** Unacked message id → when it was sent; Map order is send order, so the first is the oldest. */
  private readonly unacked = new Map<number, number>();
  private ackTimer: TimerHandle | undefined;
  /** After an ack timeout nothing is ever sent again (with `close`, the socket is closing too). */
  private stalledForGood = false;
  private isClosed = false;
  /** The client's subscription set, deactivated members included until the client drops them. */
  private set = new Map<number, LiveSubscription>();
  private readonly active = new SubscriptionIndex();
  private readonly ackedClientIds = new Set<number>();
  private lastClientId = 0;
  private readonly held: SubscribeRequest[] = [];
  /** What connectionFigures() reports (wall-clock times, like violations). */
  private readonly figures: ConnectionFigures;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly host: ConnectionHost,
  ) {
    this.figures = { id, openedAt: Date.now(), closedAt: null, messagesSent: 0, acksReceived: 0, lastAckAt: null };
    ws.on('message', (data: RawData) => this.receive(data));
    ws.on('ping', (data: Buffer) => {
      const answer = host.switches.answerPings;
      if (answer) ws.pong(data);
      host.pinged(answer);
    });
    ws.on('error', () => {
      // A broken socket also emits close, where the clean-up happens.
    });
    ws.on('close', () => this.onClose());
  }

  get open(): boolean {
    return !this.isClosed;
  }

  /** Messages waiting for room in the ack window. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Messages sent and not acked yet. */
  get unackedCount(): number {
    return this.unacked.size;
  }

  /** A copy of this connection's figures. */
  snapshotFigures(): ConnectionFigures {
    return { ...this.figures };
  }

  /** Nothing queued and nothing unacked (a connection stalled for good counts as idle: it will never drain). */
  idle(): boolean {
    return this.isClosed || this.stalledForGood || (this.head >= this.queue.length && this.unacked.size === 0);
  }

  applyChanges(changes: readonly WorldChange[]): void {
    if (this.isClosed || this.stalledForGood) return;
    const { messages, ended } = deltaMessages(changes, this.active);
    for (const message of messages) this.enqueue(message);
    for (const call of ended) this.endCallSubscriptions(call.id, call);
    this.pump();
  }

  /** Handles subscribeRequests held while acks were stalled. */
  releaseHeld(): void {
    while (this.held.length > 0 && !this.isClosed && !this.host.acksStalled()) {
      this.subscribe(this.held.shift() as SubscribeRequest);
    }
  }

  sendRaw(frame: string): void {
    if (!this.isClosed) this.ws.send(frame);
  }

  /** Destroys the socket without a close frame, as a network failure would. */
  drop(): void {
    this.ws.terminate();
    // Account for it now rather than on ws's later close event, so stats are exact right after a fault.
    this.onClose();
  }

  private receive(data: RawData): void {
    if (this.isClosed) return;
    const parsed = parseClientFrame(data);
    if (!parsed.ok) {
      this.frameError(parsed.error);
      return;
    }
    if (parsed.kind === 'messageAck') {
      this.acked(parsed.ack.messageId, parsed.ack.status);
      return;
    }
    const request = parsed.message;
    this.host.subscribeRequested();
    if (request.messageId <= this.lastClientId) {
      this.violation('clientIdNotIncreasing', `client message id ${request.messageId} after ${this.lastClientId}`);
    }
    this.lastClientId = Math.max(this.lastClientId, request.messageId);
    if (this.stalledForGood) return;
    if (this.host.acksStalled()) this.held.push(request);
    else this.subscribe(request);
  }

  private frameError(error: FrameError): void {
    // parse.ts names the message type in its details; an invalid subscription set deserves its own kind.
    const isSubscribe = error.code === 'badShape' && error.detail.startsWith('subscribeRequest');
    this.violation(isSubscribe ? 'invalidSubscription' : FRAME_ERROR_KINDS[error.code], error.detail);
    if (isSubscribe && error.messageId !== undefined) this.sendAck(error.messageId, 'failure');
  }

  private acked(messageId: number, status: string): void {
    this.host.ackReceived();
    this.figures.acksReceived += 1;
    this.figures.lastAckAt = Date.now();
    if (status !== 'success') this.violation('nonSuccessAck', `ack of message ${messageId} with status ${JSON.stringify(status)}`);
    if (this.unacked.delete(messageId)) {
      if (this.stalledForGood) return;
      this.pump();
      if (this.idle()) this.host.drained();
      return;
    }
    const ofOurAck = this.ackedClientIds.has(messageId);
    if (messageId >= this.nextMessageId) {
      if (ofOurAck) this.violation('ackOfAck', `ack of messageAck ${messageId}: a messageAck must never be acked`);
      else this.violation('unknownAck', `ack of message ${messageId}, which was never sent (last sent: ${this.nextMessageId - 1})`);
    } else {
      const maybe = ofOurAck ? ` (or an ack of the messageAck for client message ${messageId})` : '';
      this.violation('duplicateAck', `message ${messageId} was acked already${maybe}`);
    }
  }

  private subscribe(request: SubscribeRequest): void {
    const checked = checkRequest(request.subscriptions);
    if (!checked.ok) {
      this.violation('invalidSubscription', checked.problem);
      this.sendAck(request.messageId, 'failure');
      return;
    }
    for (const problem of checked.problems) this.violation('invalidSubscription', problem);
    const switches = this.host.switches;
    this.sendAck(request.messageId, switches.subscribeAckStatus);
    if (switches.subscribeAckStatus !== 'success') return;

    const previous = this.set;
    const next = new Map<number, LiveSubscription>();
    const fresh: LiveSubscription[] = [];
    for (const sub of checked.subscriptions) {
      const old = previous.get(sub.index);
      if (old && old.key === sub.key && old.state === 'active') next.set(sub.index, old);
      else {
        next.set(sub.index, sub);
        fresh.push(sub);
      }
    }
    const dropped = [...previous.values()].filter((old) => next.get(old.index) === undefined && old.state === 'active');
    for (const old of dropped) old.state = 'deactivated';
    this.set = next;
    if (fresh.length === 0 && dropped.length === 0) return;

    const listsAll = switches.subscriptionUpdateListsAll;
    this.enqueue(subscriptionUpdate(listsAll ? [...next.values(), ...dropped] : [...fresh, ...dropped]));
    if (fresh.length > 0) {
      const world = this.host.world;
      for (const sub of fresh) sub.state = sub.type === 'calls' || world.call(sub.call as string) ? 'active' : switches.badCallState;
      this.enqueue(subscriptionUpdate(listsAll ? next.values() : fresh));
      for (const sub of fresh) {
        if (sub.state !== 'active') continue;
        const call = sub.call === undefined ? undefined : world.call(sub.call);
        for (const message of snapshot(sub, world.calls(), call, switches.sendInitialCallInfo)) this.enqueue(message);
      }
    }
    this.active.rebuild(next.values());
    this.pump();
  }

  /** After a call's remove: the optional late roster update, then `deactivated` for its subscriptions. */
  private endCallSubscriptions(callId: string, call: CallRecord): void {
    const ending = [...this.active.infoOf(callId), ...this.active.rosterOf(callId)];
    if (ending.length === 0) return;
    if (this.host.switches.lateRosterAfterRemove) {
      for (const sub of this.active.rosterOf(callId)) {
        const late = lateRosterUpdate(sub, call);
        if (late) this.enqueue(late);
      }
    }
    for (const sub of ending) sub.state = 'deactivated';
    this.enqueue(subscriptionUpdate(this.host.switches.subscriptionUpdateListsAll ? this.set.values() : ending));
    this.active.rebuild(this.set.values());
  }

  private enqueue(message: ServerMessage): void {
    this.queue.push(message);
  }

  /** Sends queued messages while the ack window has room. */
  private pump(): void {
    if (this.isClosed || this.stalledForGood) return;
    const window = this.host.switches.ackWindow;
    while (this.head < this.queue.length && this.unacked.size < window) {
      const message = this.queue[this.head] as ServerMessage;
      this.queue[this.head] = undefined as unknown as ServerMessage;
      this.head += 1;
      this.send(message);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private send(message: ServerMessage): void {
    const messageId = this.nextMessageId;
    this.nextMessageId += 1;
    message.messageId = messageId;
    this.ws.send(buildMessage(message));
    this.unacked.set(messageId, this.host.clock.now());
    this.figures.messagesSent += 1;
    if (this.ackTimer === undefined) this.armAckTimer(this.host.switches.ackTimeoutMs);
    this.host.messageSent(this.id, messageId);
  }

  private sendAck(messageId: number, status: string): void {
    this.ackedClientIds.add(messageId);
    if (this.ackedClientIds.size > REMEMBERED_CLIENT_IDS) {
      this.ackedClientIds.delete(this.ackedClientIds.values().next().value as number);
    }
    this.ws.send(buildAck(messageId, status));
  }

  // One timer per connection, re-armed lazily for the then-oldest message, so the stop-and-wait
  // path does not create a timer per message.
  private armAckTimer(delayMs: number): void {
    this.ackTimer = this.host.clock.setTimeout(() => this.checkAckTimeout(), delayMs);
    (this.ackTimer as { unref?: () => void }).unref?.();
  }

  private checkAckTimeout(): void {
    this.ackTimer = undefined;
    if (this.isClosed || this.stalledForGood) return;
    const oldest = this.unacked.entries().next().value;
    if (!oldest) return;
    const timeout = this.host.switches.ackTimeoutMs;
    const waited = this.host.clock.now() - oldest[1];
    if (waited < timeout) {
      this.armAckTimer(timeout - waited);
      return;
    }
    this.violation('ackTimeout', `message ${oldest[0]} not acked within ${timeout} ms`);
    // Either way nothing more is sent: a closing socket must not carry new messages either.
    this.stalledForGood = true;
    if (this.host.switches.ackTimeoutAction === 'close') this.ws.close(1008, 'ack timeout');
    this.queue.length = 0;
    this.head = 0;
    this.host.drained();
  }

  private violation(kind: string, detail: string): void {
    this.host.violation(this.id, kind, detail);
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.figures.closedAt = Date.now();
    this.host.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.queue.length = 0;
    this.head = 0;
    this.held.length = 0;
    this.host.closed(this);
  }
}
