// One line per event for people watching a terminal (`tail`); machines get NDJSON instead.
import { isCdrEvent, type CmsEvent } from '../state/events.js';

export function formatEvent(event: CmsEvent): string {
  const time = event.ts.slice(11, 23);
  const mark = event.synthetic ? ' (inferred)' : '';
  switch (event.type) {
    case 'server.connected':
      return `${time} ${event.server} connected`;
    case 'server.disconnected':
      return `${time} ${event.server} disconnected: ${event.reason}`;
    case 'server.alarm.raised':
      return `${time} ${event.server} alarm raised: ${event.alarm.type}${event.alarm.failureReason ? ` (${event.alarm.failureReason})` : ''}${mark}`;
    case 'server.alarm.cleared':
      return `${time} ${event.server} alarm cleared: ${event.alarm.type}${mark}`;
    case 'meeting.started':
      return `${time} meeting started "${event.meeting.name ?? ''}" on ${event.server}${mark}`;
    case 'meeting.ended':
      return `${time} meeting ended  "${event.meeting.name ?? ''}" on ${event.server}${mark}`;
    case 'call.started':
      return `${time} call started   "${event.call.name ?? ''}" ${event.callId}${mark}`;
    case 'call.updated':
      return `${time} call updated   "${event.call.name ?? ''}" ${JSON.stringify(event.changes)}${mark}`;
    case 'call.ended':
      return `${time} call ended     "${event.call.name ?? ''}"${event.reason ? ` (${event.reason})` : ''}${mark}`;
    case 'participant.joined':
      return `${time}   joined  ${event.participant.name || event.participant.uri} [${event.participant.state}] in "${event.call.name ?? ''}"${mark}`;
    case 'participant.updated':
      return `${time}   updated ${event.participant.name || event.participant.uri} ${JSON.stringify(event.changes)}${mark}`;
    case 'participant.left':
      return `${time}   left    ${event.participant.name || event.participant.uri}${event.reason ? ` (${event.reason})` : ''} from "${event.call.name ?? ''}"${mark}`;
    case 'cdr.gap':
      return `${time} ${event.server} CDR gap: the CMS discarded ${event.missing} record(s) before #${event.recordIndex}`;
    default: {
      if (isCdrEvent(event)) {
        const ids = [event.callId && `call ${event.callId}`, event.participantId && `participant ${event.participantId}`, event.callLegId && `leg ${event.callLegId}`].filter(Boolean).join(', ');
        return `${time} ${event.server} CDR ${event.type.slice(4)} #${event.recordIndex}${ids ? ` (${ids})` : ''}`;
      }
      const unreachable: never = event;
      return JSON.stringify(unreachable);
    }
  }
}
