// Typed errors, by kind: what the user gave (input), the Docker engine or Compose (engine), a
// registry (registry), another command holding or having changed the record (conflict), and a
// bug (internal). Each kind has its exit code; the entry point renders an error once, as one line.
// Control flow never depends on the class of an unexpected error: update-safe rolls back on any.

export type ErrorKind = "input" | "engine" | "registry" | "conflict" | "internal";

/**
 * Exit codes, as Docker's own CLI uses them: 1 for every failure the user can act on, 70
 * (EX_SOFTWARE) for a bug. A usage error (an unknown flag) is an input error with exit 2.
 */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  input: 1,
  engine: 1,
  registry: 1,
  conflict: 1,
  internal: 70,
};

export const USAGE_EXIT_CODE = 2;

/** An expected failure: the one line the user sees, its kind and its exit code. */
export class UserError extends Error {
  /** Its kind (a RegistryError's own `kind` says which registry failure it is). */
  readonly category: ErrorKind;
  readonly exitCode: number;

  constructor(message: string, category: ErrorKind = "input", exitCode: number = EXIT_CODES[category]) {
    super(message);
    this.name = "UserError";
    this.category = category;
    this.exitCode = exitCode;
  }
}

/** A usage error: a flag without its value, an unknown command (exit 2, as Docker's). */
export function usageError(message: string): UserError {
  return new UserError(message, "input", USAGE_EXIT_CODE);
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
    return new UserError(`${sys.syscall}${where} failed: ${sys.code}`, "input");
  }
  return null;
}

/** The message of any thrown value, for a journal entry or a one-line report. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const REPORT_BUG =
  "this is a bug in docker-versions; please report it with the command you ran and the lines above at https://github.com/docker-versions/docker-versions/issues";

/**
 * The one place an error becomes what the user sees: the lines for stderr and the exit code. A
 * bug keeps its stack and says where to report it.
 */
export function renderError(
  err: unknown,
  clean: (text: string) => string = (t) => t,
): {
  text: string;
  exitCode: number;
} {
  const user = asUserError(err);
  if (user && user.category !== "internal")
    return { text: `error: ${clean(user.message)}\n`, exitCode: user.exitCode };
  const detail = user ? user.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  return {
    text: `docker-versions: internal error: ${detail}\n${REPORT_BUG}\n`,
    exitCode: EXIT_CODES.internal,
  };
}
