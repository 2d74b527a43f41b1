// CDR POST bodies in the shapes a CMS sends (Cisco's CDR guide and real captures): the typical
// sequence of one call (leg start without a call, leg update in the IVR, call start, leg update
// with the call, …, leg end without groupId or call, call end), numbered as one receiver sees it.
import { randomUUID } from 'node:crypto';

export interface CdrLeg {
  legId: string;
  groupId: string;
  name: string;
}

export interface CdrCallScript {
  session: string;
  callId: string;
  legs: CdrLeg[];
  /** The recordIndex of the first record (the receiver's sequence); correlatorIndex is one less. */
  firstIndex: number;
}

export interface NumberedRecord {
  type: string;
  recordIndex: number;
  xml: string;
}

export function newCallScript(session: string, firstIndex: number, participants = 2): CdrCallScript {
  return {
    session,
    callId: randomUUID(),
    legs: Array.from({ length: participants }, (_, k) => ({ legId: randomUUID(), groupId: randomUUID(), name: `Person ${k + 1}` })),
    firstIndex,
  };
}

const time = (index: number) => `2026-12-03T10:${String(Math.floor(index / 60) % 60).padStart(2, '0')}:${String(index % 60).padStart(2, '0')}Z`;

export function record(type: string, index: number, inner: string, extra = ''): NumberedRecord {
  return { type, recordIndex: index, xml: `<record type="${type}" time="${time(index)}" recordIndex="${index}" correlatorIndex="${index - 1}"${extra}>${inner}</record>` };
}

/** The records of one call from its first leg's start to its end, in CMS order. */
export function callRecords(script: CdrCallScript): NumberedRecord[] {
  const { callId, legs } = script;
  let index = script.firstIndex;
  const out: NumberedRecord[] = [];
  legs.forEach((leg, k) => {
    out.push(
      record(
        'callLegStart',
        index++,
        `<callLeg id="${leg.legId}"><displayName>${leg.name}</displayName><localAddress>weekly@example.com</localAddress><remoteParty>sip:${k + 1}@example.com</remoteParty><remoteAddress>10.0.0.${k + 10}</remoteAddress><type>sip</type><direction>incoming</direction><sipCallId>${leg.legId.slice(0, 8)}@10.0.0.${k + 10}</sipCallId><groupId>${leg.groupId}</groupId><canMove>true</canMove></callLeg>`,
      ),
      record('callLegUpdate', index++, `<callLeg id="${leg.legId}"><state>connected</state><ivr/><groupId>${leg.groupId}</groupId></callLeg>`),
    );
    if (k === 0) {
      out.push(
        record(
          'callStart',
          index++,
          `<call id="${callId}"><name>Weekly Sync</name><ownerName></ownerName><callType>coSpace</callType><coSpace>9a8b7c6d-0000-4000-8000-000000000001</coSpace><tenant></tenant><cdrTag></cdrTag><callCorrelator>${callId.replace(/^.{8}/, 'c0ffee00')}</callCorrelator></call>`,
        ),
      );
    }
    out.push(record('callLegUpdate', index++, `<callLeg id="${leg.legId}"><state>connected</state><call>${callId}</call><groupId>${leg.groupId}</groupId><deactivated>false</deactivated></callLeg>`));
  });
  legs.forEach((leg) => {
    out.push(
      record(
        'callLegEnd',
        index++,
        `<callLeg id="${leg.legId}"><reason>remoteTeardown</reason><remoteTeardown>true</remoteTeardown><durationSeconds>1820</durationSeconds><activatedDuration>1815</activatedDuration>` +
          `<mediaUsagePercentages><mainVideoViewer>98.9</mainVideoViewer><mainVideoContributor>97.2</mainVideoContributor><presentationContributor>0</presentationContributor><multiStreamVideo>0</multiStreamVideo></mediaUsagePercentages>` +
          `<alarm type="packetLoss" durationPercentage="1.4"/><encryptedMedia>true</encryptedMedia><unencryptedMedia>false</unencryptedMedia>` +
          `<rxAudio><codec>opus</codec><packetStatistics><packetLossBursts><duration>1.5</duration><density>0.3</density></packetLossBursts><packetGap><duration>0</duration><density>0</density></packetGap></packetStatistics></rxAudio>` +
          `<txAudio><codec>opus</codec></txAudio><rxVideo><codec>h264</codec><maxSizeWidth>1920</maxSizeWidth><maxSizeHeight>1080</maxSizeHeight></rxVideo><txVideo><codec>h264</codec><maxSizeWidth>1280</maxSizeWidth><maxSizeHeight>720</maxSizeHeight></txVideo>` +
          `<sipCallId>${leg.legId.slice(0, 8)}@10.0.0.1</sipCallId></callLeg>`,
      ),
    );
  });
  out.push(record('callEnd', index++, `<call id="${callId}"><callLegsCompleted>${legs.length}</callLegsCompleted><callLegsMaxActive>${legs.length}</callLegsMaxActive><durationSeconds>1830</durationSeconds></call>`));
  return out;
}

export function cdrBody(session: string, records: readonly NumberedRecord[], callBridge?: string): string {
  return `<?xml version="1.0"?>\n<records session="${session}"${callBridge ? ` callBridge="${callBridge}"` : ''}>${records.map((r) => r.xml).join('')}</records>`;
}

/** POSTs a body as a CMS does; resolves with the status. */
export async function postCdr(url: string, body: string): Promise<number> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  await response.arrayBuffer();
  return response.status;
}
