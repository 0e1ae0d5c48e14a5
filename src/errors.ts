/**
 * Errors a user can cause (a bad spec, an unreadable file, an unsupported operator). The CLI
 * prints them as one line plus a hint, without a stack trace; every other error is a bug and
 * keeps its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** What to do about it, shown after the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
