// What a CMS refused, in a form code can act on and a person can read: the HTTP status, the
// `failureDetails` code (the name of its child element, e.g. `participantDoesNotExist`), its
// attributes, and a sentence. Never the credentials or the request body.
export class CmsApiError extends Error {
  override readonly name = 'CmsApiError';

  constructor(
    message: string,
    /** HTTP status; 0 when no answer came (network, timeout). */
    readonly status: number,
    /** The failureDetails code; undefined when the answer had none. */
    readonly code: string | undefined,
    /** The failureDetails element's attributes (`parameter`, `error` on parameterError). */
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** failureDetails codes in words, for the sentence; others are shown as they are. */
const CODE_WORDS: Record<string, string> = {
  callDoesNotExist: 'the call does not exist (it may have ended)',
  callLegDoesNotExist: 'the call leg does not exist (the participant may have left)',
  participantDoesNotExist: 'the participant does not exist (they may have left)',
  participantCannotBeModified: 'the participant cannot be changed here (it is hosted on another bridge)',
  participantCannotBeDeleted: 'the participant cannot be dropped here (it is hosted on another bridge)',
  callLegCannotBeDeleted: 'the call leg cannot be dropped',
  participantLimitReached: 'the call has reached its participant limit',
  callBridgeUnavailable: 'the call bridge is unavailable',
  databaseNotReady: 'the server is not ready yet',
  invalidOperation: 'the server refused the operation',
};

export function describeRefusal(action: string, status: number, code: string | undefined, details: Readonly<Record<string, string>>): string {
  if (code === 'parameterError') {
    return `${action}: the server refused parameter ${details.parameter ?? '?'} (${details.error ?? 'invalid'}), HTTP ${status}`;
  }
  const words = code === undefined ? undefined : (CODE_WORDS[code] ?? code);
  return `${action}: ${words ?? 'refused'} (HTTP ${status}${code === undefined ? '' : `, ${code}`})`;
}
