// A Swarm stack through the docker CLI: its services (`docker service inspect`), the tasks Swarm
// wants running (`docker inspect` of `docker stack ps` ids), and `docker stack deploy`.

import { nameOrder } from "../core/order.js";
import type { StackService, StackTask } from "../core/swarm.js";
import { UserError } from "../errors.js";
import { type DockerCli, labelledIds, lastLine, runDocker } from "./docker.js";

/** Refuses, in one line, an engine that is not a Swarm manager or a stack with no service. */
export async function requireManager(cli: DockerCli): Promise<void> {
  const res = await runDocker(cli, [
    "info",
    "--format",
    "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
  ]);
  if (res.code !== 0)
    throw new UserError(`cannot reach the Docker engine: ${lastLine(res.stderr)}`, "engine");
  const [state, manager] = res.stdout.trim().split(" ");
  if (state !== "active" || manager !== "true")
    throw new UserError(
      `--stack needs a Swarm manager: this engine's swarm state is ${state || "unknown"}${state === "active" ? " (a worker)" : ""}`,
      "engine",
    );
}

interface RawService {
  ID: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate?: { ContainerSpec?: { Image?: string } };
    Mode?: { Replicated?: { Replicas?: number }; Global?: unknown };
    UpdateConfig?: { FailureAction?: string };
  };
  UpdateStatus?: { State?: string; Message?: string };
}

/** The services of stack `stack`, by compose service name. */
export async function stackServices(cli: DockerCli, stack: string): Promise<StackService[]> {
  const ls = await labelledIds(cli, ["service", "ls"], `com.docker.stack.namespace=${stack}`);
  if (ls.code !== 0)
    throw new UserError(`cannot list the services of stack ${stack}: ${lastLine(ls.stderr)}`, "engine");
  if (ls.ids.length === 0) return [];
  const res = await runDocker(cli, ["service", "inspect", ...ls.ids]);
  if (res.code !== 0)
    throw new UserError(`cannot inspect the services of stack ${stack}: ${lastLine(res.stderr)}`, "engine");
  const prefix = `${stack}_`;
  return (JSON.parse(res.stdout) as RawService[])
    .map((s) => ({
      service: s.Spec.Name.startsWith(prefix) ? s.Spec.Name.slice(prefix.length) : s.Spec.Name,
      name: s.Spec.Name,
      id: s.ID,
      image: s.Spec.TaskTemplate?.ContainerSpec?.Image ?? "",
      desired: s.Spec.Mode?.Replicated ? (s.Spec.Mode.Replicated.Replicas ?? 1) : null,
      updateState: s.UpdateStatus?.State,
      updateMessage: s.UpdateStatus?.Message,
      failureAction: s.Spec.UpdateConfig?.FailureAction ?? "pause",
    }))
    .sort((a, b) => nameOrder(a.service, b.service));
}

interface RawTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  Spec?: { ContainerSpec?: { Image?: string } };
  Status?: { State?: string; ContainerStatus?: { ContainerID?: string } };
}

/** The tasks of stack `stack` that Swarm wants running, wherever they are. */
export async function stackTasks(cli: DockerCli, stack: string): Promise<StackTask[]> {
  const ps = await runDocker(cli, [
    "stack",
    "ps",
    "--quiet",
    "--no-trunc",
    "--filter",
    "desired-state=running",
    stack,
  ]);
  // A stack with no task yet (or none at all) answers "nothing found"; that is an empty list.
  if (ps.code !== 0) {
    if (/nothing found/i.test(ps.stderr)) return [];
    throw new UserError(`cannot list the tasks of stack ${stack}: ${lastLine(ps.stderr)}`, "engine");
  }
  const ids = ps.stdout.split("\n").filter((l) => l.trim());
  if (ids.length === 0) return [];
  const res = await runDocker(cli, ["inspect", "--type", "task", ...ids]);
  // A task may be gone between the two calls: what is still there is the answer.
  const text = res.code === 0 ? res.stdout : res.stdout.trim() || "[]";
  return (JSON.parse(text) as RawTask[]).map((t) => ({
    id: t.ID,
    serviceId: t.ServiceID,
    image: t.Spec?.ContainerSpec?.Image ?? "",
    state: t.Status?.State ?? "",
    containerId: t.Status?.ContainerStatus?.ContainerID || undefined,
    nodeId: t.NodeID ?? "",
    slot: t.Slot,
  }));
}

/**
 * `docker stack deploy -c <files> <stack>` with `env` as the environment it interpolates from.
 * `--resolve-image changed`: only a service whose image line changed is asked about (its
 * pinned digest), so a deploy never moves an untouched service to what its tag says today.
 * `--with-registry-auth`: the nodes pull private images with the operator's credentials.
 */
export async function deployStack(
  cli: DockerCli,
  stack: string,
  files: readonly string[],
  workingDir: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const args = ["stack", "deploy", "--detach=true", "--quiet", "--with-registry-auth"];
  args.push("--resolve-image", "changed");
  for (const f of files) args.push("--compose-file", f);
  args.push(stack);
  // The environment is replaced, not merged: stackEnvironment already holds the shell's.
  const res = await runDocker({ ...cli, env }, args, { cwd: workingDir });
  if (res.code !== 0)
    throw new UserError(
      `docker stack deploy ${stack} failed: ${lastLine(res.stderr) || `exit ${res.code}`}`,
      "engine",
    );
}

/** The newest task error Swarm recorded for a service (why its update failed), if any. */
export async function lastTaskError(cli: DockerCli, name: string): Promise<string | undefined> {
  const res = await runDocker(cli, ["service", "ps", "--no-trunc", "--format", "{{.Error}}", name]);
  if (res.code !== 0) return undefined;
  return res.stdout
    .split("\n")
    .map((l) => l.trim())
    .find(Boolean);
}
