/**
 * The client's errors: every one carries a code of the shared table (services/shared/src/errors.ts).
 */
import { isErrorCode, type ErrorCode } from '../../shared/src/errors.js';

/** An `error` reply, or a client-side failure with a stable code. */
export class WsgwError extends Error {
  constructor(
    /** One of services/shared/src/errors.ts; a code this version does not know arrives as `internal`. */
    readonly code: ErrorCode,
    message: string,
    /** For a publish: its message id. Publishing again with it can never deliver it twice. */
    readonly messageId?: string,
    /** For a subscription the server refused: its channel. */
    readonly channel?: string,
  ) {
    super(message);
    this.name = 'WsgwError';
  }
}

/** Codes after which a subscription is dropped rather than renewed: the answer would not change. */
export const FINAL_SUB_ERRORS: ReadonlySet<string> = new Set([
  'forbidden',
  'bad_channel',
  'bad_request',
  'too_many_subscriptions',
]);

/** An error frame as a WsgwError: a code a newer gateway added, this version does not know, reads `internal`. */
export function serverError(code: string, message: string): WsgwError {
  return isErrorCode(code) ? new WsgwError(code, message) : new WsgwError('internal', `${code}: ${message}`);
}
