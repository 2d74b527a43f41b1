// Handler registration: typed per event type, '*' for all.
import type { CmsEvent, CmsEventType, EventOfType } from '../state/events.js';
import type { HandlerContext } from './context.js';

/** Runs after the message that produced the event has been acked to the CMS. */
export type FollowUp = () => unknown;

export type Handler<E extends CmsEvent = CmsEvent> = (
  event: E,
  context: HandlerContext,
) => void | FollowUp | Promise<void | FollowUp>;

export type HandlerKey = CmsEventType | '*';

export class HandlerRegistry {
  private readonly byType = new Map<HandlerKey, Handler[]>();
  private count = 0;

  on<T extends CmsEventType>(type: T, handler: Handler<EventOfType<T>>): () => void;
  on(type: '*', handler: Handler): () => void;
  on(type: HandlerKey, handler: Handler<never>): () => void {
    const list = this.byType.get(type) ?? [];
    list.push(handler as Handler);
    this.byType.set(type, list);
    this.count++;
    return () => {
      const index = list.indexOf(handler as Handler);
      if (index >= 0) {
        list.splice(index, 1);
        this.count--;
      }
    };
  }

  get isEmpty(): boolean {
    return this.count === 0;
  }

  /** Handlers for one event: the type's own, then the catch-all ones. */
  for(type: CmsEventType): Handler[] {
    const own = this.byType.get(type);
    const all = this.byType.get('*');
    if (!all?.length) return own ?? [];
    if (!own?.length) return all;
    return [...own, ...all];
  }
}
