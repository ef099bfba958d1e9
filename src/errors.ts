// Typed errors: a UserError carries the one line the user sees and the exit code; the entry
// point renders it once. Anything else is a bug and is reported as such.
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}
