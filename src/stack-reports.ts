// What a Swarm stack runs, read for the record's reports: each service's spec and the digests
// its running tasks run (for `migrate-versions` and `version`), replicas running/desired and
// which tasks run which digest (for `status`).
import { inspectContainers } from "./adapters/engine.js";
import { requireManager, stackServices, stackTasks } from "./adapters/swarm.js";
import { nameOrder } from "./core/order.js";
import {
  type ReplicaSummary,
  replicaSummary,
  type StackService,
  type StackTask,
  specVersion,
} from "./core/swarm.js";
import { UserError } from "./errors.js";
import type { Workspace } from "./workspace.js";

export interface StackView {
  stack: string;
  services: StackService[];
  tasks: StackTask[];
}

/** The stack's services and running tasks; a stack with no service is an error naming it. */
export async function observeStack(ws: Workspace, stack: string): Promise<StackView> {
  await requireManager(ws.cli);
  const [services, tasks] = await Promise.all([stackServices(ws.cli, stack), stackTasks(ws.cli, stack)]);
  if (services.length === 0)
    throw new UserError(
      `stack ${stack} has no services on this swarm (docker stack ls lists the stacks)`,
      "engine",
    );
  return { stack, services, tasks };
}

/** Per compose service: the images (`repo:tag@digest`) its running tasks run. */
export function runningImages(view: StackView): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const svc of view.services) {
    out.set(
      svc.service,
      view.tasks.filter((t) => t.serviceId === svc.id && t.state === "running").map((t) => t.image),
    );
  }
  return out;
}

/** The digest a task image names, for the version report (a task image carries it). */
export function taskDigest(image: string): string | undefined {
  return specVersion(image).digest;
}

export interface StackTaskStatus {
  name: string;
  state: string;
  health: string;
  exitCode: number;
  status: string;
  restarts: number;
  oomKilled: boolean;
  digest?: string;
  node: string;
}

export interface StackServiceStatus {
  replicas: ReplicaSummary;
  /** The spec's image, as Swarm resolved it. */
  specImage: string;
  updateState?: string;
  tasks: StackTaskStatus[];
}

/** `status` on a stack: per service its replicas, the digests its tasks run, and the tasks. */
export async function stackStatus(ws: Workspace, stack: string): Promise<Map<string, StackServiceStatus>> {
  const view = await observeStack(ws, stack);
  // Task containers on this engine add their health; tasks on other nodes show Swarm's state.
  const local = await inspectContainers(
    ws.cli,
    view.tasks.map((t) => t.containerId).filter((id): id is string => Boolean(id)),
  );
  const out = new Map<string, StackServiceStatus>();
  for (const svc of view.services) {
    const tasks = view.tasks
      .filter((t) => t.serviceId === svc.id)
      .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || nameOrder(a.id, b.id));
    out.set(svc.service, {
      replicas: replicaSummary(svc, view.tasks),
      specImage: svc.image,
      updateState: svc.updateState,
      tasks: tasks.map((t) => {
        const c = local.find((i) => t.containerId && i.id.startsWith(t.containerId));
        return {
          name: t.slot !== undefined ? `${svc.name}.${t.slot}` : `${svc.name}.${t.nodeId.slice(0, 12)}`,
          state: t.state,
          health: c?.health ?? "",
          exitCode: c?.exitCode ?? 0,
          status: t.state,
          restarts: 0,
          oomKilled: c?.oomKilled ?? false,
          digest: taskDigest(t.image),
          node: t.nodeId,
        };
      }),
    });
  }
  return out;
}

/**
 * update-safe's health gate on a stack is Swarm's own: every service it will update must say
 * `failure_action: rollback` under `deploy.update_config`, or the run stops before any change.
 */
export async function requireRollbackGate(
  ws: Workspace,
  stack: string,
  services: readonly string[],
): Promise<void> {
  const view = await observeStack(ws, stack);
  const ungated = services.filter(
    (s) => view.services.find((v) => v.service === s)?.failureAction !== "rollback",
  );
  if (ungated.length > 0)
    throw new UserError(
      `stack ${stack}: ${ungated.join(", ")} ${ungated.length > 1 ? "have" : "has"} no deploy.update_config.failure_action: rollback, which update-safe needs so Swarm rolls a failed update back (add it, with monitor: and a healthcheck, and deploy once)`,
    );
}
