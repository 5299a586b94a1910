//! What a refused join means to a person, and whether typing a PIN could fix it.

/** A join the session refused, explained. */
export interface Refusal {
  code: string;
  message: string;
  /** Whether typing a PIN could fix it. */
  pinHelps: boolean;
}

/** What each refusal means to a person, and whether a PIN helps. */
export function explainRefusal(code: string, message: string): Refusal {
  const text: Record<string, [string, boolean]> = {
    auth_required: ['This link has no secret. Enter the PIN, or scan the QR code again.', true],
    bad_secret: ['This link is no longer valid (the leader made a new one). Scan the new QR code, or enter the PIN.', true],
    wrong_pin: ['Wrong PIN: check it with the leader.', true],
    too_many_attempts: ['Too many wrong PINs. Wait a minute, or use the join link.', true],
    unknown_session: ['This session is gone: the host restarted or ended it. Ask for a new link.', false],
    full: ['The session is full.', false],
    invalid_name: [`Your name or instrument is not accepted: ${message}`, false],
    version_unsupported: [message, false],
  };
  const [t, pin] = text[code] ?? [message, false];
  return { code, message: t, pinHelps: pin };
}
