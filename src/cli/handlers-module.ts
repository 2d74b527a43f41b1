// Loads the config's `handlers` module, so business logic needs no program of its own. The
// module may export a function `register(hub)` (default or named), or a default object that maps
// event types ('participant.joined', '*', …) to handlers.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { Hub, Handler } from '../hub/index.js';
import { EVENT_TYPES, type CmsEventType } from '../state/events.js';

export async function loadHandlersModule(hub: Hub, path: string, baseDir: string): Promise<void> {
  const file = resolve(baseDir, path);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown; register?: unknown };
  const entry = typeof mod.register === 'function' ? mod.register : mod.default;
  if (typeof entry === 'function') {
    await (entry as (hub: Hub) => unknown)(hub);
    return;
  }
  if (entry && typeof entry === 'object') {
    for (const [type, handler] of Object.entries(entry)) {
      if (type !== '*' && !EVENT_TYPES.includes(type as CmsEventType)) {
        throw new Error(`${file}: unknown event type "${type}" (known: ${EVENT_TYPES.join(', ')}, *)`);
      }
      if (typeof handler !== 'function') throw new Error(`${file}: the handler for "${type}" is not a function`);
      hub.on(type as '*', handler as Handler);
    }
    return;
  }
  throw new Error(`${file}: export a function register(hub), or a default object mapping event types to handlers`);
}
