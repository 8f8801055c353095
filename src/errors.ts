// Failures a user can fix: a bad option or request, a device or port that
// cannot be had, an etcd that says no. They are told in one line (the CLI
// exits 2, the API answers 400); anything else is a bug and keeps its stack.

export class UserError extends Error {}

/** A server could not listen where it was told: the address is in use, or not this host's. */
export class ListenError extends UserError {
  readonly code: string | undefined;

  constructor(what: string, cause: NodeJS.ErrnoException) {
    super(`${what}: ${cause.code === 'EADDRINUSE' ? 'address in use' : cause.message}`);
    this.code = cause.code;
  }
}
