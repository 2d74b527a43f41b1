// An example of acting on calls: in a meeting that already has MAX_UNMUTED people, whoever joins
// next is muted. Name it in the config as `handlers: ./mute-late-joiners.mjs`.
//
// The pattern: a handler decides, and returns a follow-up that acts. A follow-up runs only once
// the CMS message the event came from has been acked, so the REST request never races the
// feed's own stop-and-wait, and a handler is never held up by the CMS's answer. The mute then
// comes back through the feed as a participant.updated event, like any other change.
const MAX_UNMUTED = 5;

export default function register(hub) {
  hub.on('participant.joined', (event, context) => {
    if (event.participant.audioMuted || (event.call.participants ?? 0) <= MAX_UNMUTED) return;
    const { participantId } = event;
    return async () => {
      try {
        await context.cms.muteAudio(participantId);
        context.logger.info({ call: event.call.name, participant: participantId }, 'muted a late joiner');
      } catch (error) {
        // A CmsApiError: error.code is the CMS's failureDetails code (participantDoesNotExist when
        // they left meanwhile), error.status its HTTP status, error.message a sentence.
        context.logger.warn({ participant: participantId, code: error.code, status: error.status }, error.message);
      }
    };
  });
}
