// An example handlers module: name it in the config as `handlers: ./handlers.mjs`.
// It logs every participant who joins a call whose name matches a pattern, and keeps a count of
// live calls per server that a follow-up reports once the CMS message has been acknowledged.
import { currentContext } from 'cms-events';

const WATCHED_CALLS = /board|all-hands/i;
const liveCalls = new Map(); // server name → number of live calls

async function lookUpDirectory(uri) {
  // Stands for any async work of yours (a database, an HTTP call). currentContext() still knows
  // which server the event came from, however deep the work goes.
  await new Promise((resolve) => setTimeout(resolve, 1));
  const { server, logger } = currentContext();
  logger.debug({ uri }, `looked up a participant of ${server}`);
  return uri.split('@')[0];
}

export default function register(hub) {
  hub.on('participant.joined', async (event, { logger }) => {
    if (!WATCHED_CALLS.test(event.call.name ?? '')) return;
    const who = event.participant.name || (await lookUpDirectory(event.participant.uri ?? ''));
    logger.info({ call: event.call.name, who, state: event.participant.state }, 'participant joined a watched call');
  });

  hub.on('call.started', (event) => {
    liveCalls.set(event.server, (liveCalls.get(event.server) ?? 0) + 1);
    // A follow-up runs after the message that started the call has been acked.
    return () => currentContext().logger.info({ liveCalls: liveCalls.get(event.server) }, 'calls on this server');
  });

  hub.on('call.ended', (event) => {
    liveCalls.set(event.server, Math.max(0, (liveCalls.get(event.server) ?? 0) - 1));
  });
}
