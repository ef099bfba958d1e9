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

/** A command that exists in the interface but whose behaviour has not been built yet. */
export class NotImplementedError extends UserError {
  constructor(command: string) {
    super(`'${command}' is not available in this version of docker-versions yet`, 3);
  }
}
