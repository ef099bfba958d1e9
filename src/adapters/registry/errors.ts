// What can go wrong when asking a registry, as one kind per failure and one line for the user.
// Messages name the registry and repository, never a credential.
import { UserError } from "../../errors.js";

export type RegistryErrorKind =
  | "unreachable"
  | "auth"
  | "repository-not-found"
  | "tag-not-found"
  | "rate-limited"
  | "server"
  | "bad-response"
  | "credentials";

export class RegistryError extends UserError {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
  ) {
    super(message, "registry");
    this.name = "RegistryError";
  }
}
