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

/**
 * The UserError an error stands for, or null for a bug. Besides UserError itself, a system
 * call's failure (a file that cannot be read, a full disk: an errno code and a syscall) is the
 * machine's state, not a bug, and is one line like any other.
 */
export function asUserError(err: unknown): UserError | null {
  if (err instanceof UserError) return err;
  const sys = err as NodeJS.ErrnoException | null;
  if (sys instanceof Error && typeof sys.code === "string" && typeof sys.syscall === "string") {
    const where = sys.path ? ` ${sys.path}` : "";
    return new UserError(`${sys.syscall}${where} failed: ${sys.code}`);
  }
  return null;
}

export const REPORT_BUG =
  "this is a bug in docker-versions; please report it with the command you ran and the lines above at https://github.com/docker-versions/docker-versions/issues";
