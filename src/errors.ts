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

/**
 * The one line the CLI prints for a user error. Messages quote names from the user's files (a
 * node name, a path), which may hold newlines; they are flattened so the error stays one line.
 */
export function formatUserError(e: UserError): string {
  const flat = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, ' ');
  return `formbench: error: ${flat(e.message)}${e.hint ? ` (hint: ${flat(e.hint)})` : ''}`;
}
