// REST /api/v1/system/cdrReceivers of a simulated bridge: list (paged, with the maximum), add
// (uri=, answered with a Location), get, change (PUT uri=) and delete one receiver. rest-routes.ts
// matches the path and turns a refusal returned here into failureDetails.
import { CdrReceiverError, MAX_CDR_RECEIVERS, type CdrReceivers } from './cdr-receivers.js';
import { element, leaf, XML_DECLARATION, type Attributes } from './rest-xml.js';

export interface CdrRequest {
  method: string;
  /** Undefined: the collection. */
  receiverId?: string;
  params: Record<string, string>;
  /** The page of a collection GET. */
  window?: { offset: number; limit: number };
  /** The switch staleIdStatus: the status answering an unknown receiver id. */
  staleStatus: number;
}

export type CdrRouteResult = { body?: string; location?: string } | { failure: { status: number; code: string; attrs?: Attributes } };

const receiverXml = (r: { id: string; uri: string }): string => element('cdrReceiver', { id: r.id }, [leaf('uri', r.uri)]);

function uriParam(params: Record<string, string>): CdrRouteResult | string {
  const unknown = Object.keys(params).find((name) => name !== 'uri');
  if (unknown !== undefined) return { failure: { status: 400, code: 'parameterError', attrs: { parameter: unknown, error: 'unknownParameter' } } };
  const uri = params.uri;
  if (uri === undefined || uri === '') return { failure: { status: 400, code: 'parameterError', attrs: { parameter: 'uri', error: 'required' } } };
  return uri;
}

export function routeCdrReceivers(receivers: CdrReceivers, request: CdrRequest): CdrRouteResult {
  const { method, receiverId: id } = request;
  try {
    if (method === 'GET' && id === undefined) {
      const all = receivers.receivers();
      const { offset, limit } = request.window ?? { offset: 0, limit: all.length };
      const items = all.slice(offset, offset + limit).map(receiverXml).join('');
      return { body: `${XML_DECLARATION}<cdrReceivers total="${all.length}" maximum="${MAX_CDR_RECEIVERS}">${items}</cdrReceivers>` };
    }
    if (method === 'GET') return { body: XML_DECLARATION + receiverXml(receivers.receiver(id as string)) };
    if (method === 'DELETE') {
      receivers.removeReceiver(id as string);
      return {};
    }
    if (method === 'PUT') receivers.receiver(id as string); // an unknown id is refused before its parameters
    const uri = uriParam(request.params);
    if (typeof uri !== 'string') return uri;
    if (method === 'PUT') {
      receivers.updateReceiver(id as string, uri);
      return {};
    }
    return { location: `/api/v1/system/cdrReceivers/${encodeURIComponent(receivers.addReceiver(uri))}` };
  } catch (error) {
    if (!(error instanceof CdrReceiverError)) throw error;
    if (error.code === 'invalidUri') return { failure: { status: 400, code: 'parameterError', attrs: { parameter: 'uri', error: 'invalidValue' } } };
    if (error.code === 'cdrReceiverDoesNotExist') return { failure: { status: request.staleStatus, code: error.code } };
    return { failure: { status: 400, code: error.code } };
  }
}
