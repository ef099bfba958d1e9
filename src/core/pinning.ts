// Which variable pins which service: from every service's image template and the record, the
// versions.env assignments that make each tracked service run exactly its recorded digest, and
// for each service that cannot be pinned without editing the compose file, why not and the edit
// that would pin it. A variable is written only when every service it reaches gets a valid
// reference of its own repository; otherwise it is left to the operator's files. Pure code.

import { groupBy } from "./group.js";
import {
  effectiveVariables,
  governTag,
  lastVariableIndex,
  type Part,
  type Position,
  parseTemplate,
  positionOf,
  renderTemplate,
  TemplateError,
  tagStart,
} from "./image-template.js";

export interface ImageInput {
  service: string;
  /** `image:` as written, after merges, `extends` and override files, before interpolation. */
  template?: string;
  /** The repository of the interpolated image (Docker's local name); absent when not active. */
  repository?: string;
  /** A digest the interpolated image carries (`redis:7@sha256:…` in the file). */
  digest?: string;
  /** Whether the service is in the project as loaded (its profiles are active). */
  active: boolean;
}

export interface RecordedVersion {
  tag: string;
  digest?: string;
  /** The repository the record names; used when the service is not active. */
  repository?: string;
}

export type Pin =
  /** Pinned through `variable`, shared with `members` (itself included; same repository). */
  | { state: "pinned"; variable: string; value: string; members: string[] }
  /** The compose file names a digest itself; the record follows it, nothing is written. */
  | { state: "file"; digest: string }
  /** Tracked but cannot be pinned as the file stands; `edit` is the template that would pin it. */
  | {
      state: "unpinned";
      reason: string;
      /** The new `image:` value that pins it (null when no edit of that line can). */
      edit: string | null;
      variable?: string;
      /** Its own line could pin it; another service's use of the same variable stops it. */
      shared: boolean;
    }
  | { state: "untracked" }
  | { state: "build" };

export interface Assignment {
  variable: string;
  value: string;
  services: string[];
}

export interface PinPlan {
  pins: Map<string, Pin>;
  assignments: Assignment[];
}

interface Candidate {
  service: string;
  parts: Part[];
  variable: string;
  position: Position;
}

const DIGEST_IN_TEXT = /@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}/;

/** The value that makes `position` yield repository:tag@digest, or why it cannot. */
function valueFor(
  position: Position,
  repository: string | undefined,
  v: RecordedVersion,
): { value: string } | { why: string } {
  const at = v.digest ? `@${v.digest}` : "";
  switch (position.kind) {
    case "image":
      return repository ? { value: `${repository}:${v.tag}${at}` } : { why: "its repository is unknown" };
    case "tag":
      if (!v.tag.startsWith(position.lead) || v.tag.length === position.lead.length)
        return {
          why: `its tag '${v.tag}' does not start with '${position.lead}', which the file writes before it`,
        };
      return { value: `${v.tag.slice(position.lead.length)}${at}` };
    case "digest":
      return v.digest ? { value: v.digest } : { why: "no digest is recorded for it yet" };
    default:
      return { why: position.why };
  }
}

function prefixOf(parts: readonly Part[]): string {
  return renderTemplate(parts.slice(0, -1));
}

export function planPins(
  inputs: readonly ImageInput[],
  records: ReadonlyMap<string, RecordedVersion>,
): PinPlan {
  return plan(inputs, records, true);
}

// One pass over every service that decides all of their pins together (a shared variable ties
// them); split up, the rules that depend on each other would be read apart.
function plan(
  inputs: readonly ImageInput[],
  records: ReadonlyMap<string, RecordedVersion>,
  propose: boolean,
): PinPlan {
  const pins = new Map<string, Pin>();
  const parsed = new Map<string, Part[]>();
  const candidates = new Map<string, Candidate>();
  const reasons = new Map<string, string>();
  const byName = new Map(inputs.map((i) => [i.service, i]));

  for (const input of inputs) {
    if (input.template === undefined) continue;
    try {
      parsed.set(input.service, parseTemplate(input.template));
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      reasons.set(input.service, `its image '${input.template}' cannot be read: ${e.message}`);
    }
  }

  for (const input of inputs) {
    const { service } = input;
    if (!input.active) continue;
    if (input.template === undefined) {
      pins.set(service, { state: "build" });
      continue;
    }
    if (!records.has(service)) continue;
    const parts = parsed.get(service);
    if (!parts) continue;
    const literal = parts.filter((p) => p.kind === "text").some((p) => DIGEST_IN_TEXT.test(p.text));
    if (literal && input.digest) {
      pins.set(service, { state: "file", digest: input.digest });
      continue;
    }
    const last = parts.length - 1;
    const lastPart = parts[last];
    if (lastPart?.kind !== "var") {
      const lastVar = lastVariableIndex(parts);
      const position = lastVar >= 0 ? positionOf(parts, lastVar) : null;
      const tag = tagStart(parts);
      reasons.set(
        service,
        tag && tag.index > lastVar
          ? `its image '${input.template}' has no version variable in its tag`
          : position?.kind === "none"
            ? `in '${input.template}', ${position.why}`
            : `its image '${input.template}' has no version variable`,
      );
      continue;
    }
    const position = positionOf(parts, last);
    if (position.kind === "none") {
      reasons.set(service, `in '${input.template}', ${position.why}`);
      continue;
    }
    candidates.set(service, { service, parts, variable: lastPart.name, position });
  }

  // Drop variables until every service each one reaches is one of its group: same position,
  // same repository, same recorded version. Dropping one can expose the defaults it hid, so
  // repeat until nothing changes.
  const written = new Set([...candidates.values()].map((c) => c.variable));
  const values = new Map<string, string>();
  for (;;) {
    values.clear();
    const dropped = new Map<string, string>();
    const users = new Map<string, string[]>();
    for (const [service, parts] of parsed) {
      for (const occ of effectiveVariables(parts, written)) {
        if (!written.has(occ.name)) continue;
        const list = users.get(occ.name) ?? [];
        if (!list.includes(service)) list.push(service);
        users.set(occ.name, list);
      }
    }
    for (const variable of written) {
      const members = (users.get(variable) ?? []).sort();
      const owners = members
        .map((m) => candidates.get(m))
        .filter((c) => c?.variable === variable) as Candidate[];
      const lead = owners[0] as Candidate;
      let why: string | undefined;
      for (const m of members) {
        const c = candidates.get(m);
        const parts = parsed.get(m) as Part[];
        const others = effectiveVariables(parts, written).filter((o) => written.has(o.name));
        const sameTarget =
          c?.variable === variable &&
          c.position.kind === lead.position.kind &&
          (c.position.kind !== "tag" || c.position.lead === (lead.position as { lead: string }).lead) &&
          sameRepository(byName.get(m), byName.get(lead.service), parts, lead.parts);
        if (!c || c.variable !== variable || others.length !== 1) {
          // Not a candidate (untracked, or its profile is off): it follows the group when its
          // text before the variable is the same, so it names the same repository.
          if (!c && others.length === 1 && sameUntracked(parts, lead.parts)) continue;
          why = records.has(m)
            ? `'${m}' also uses \${${variable}}`
            : `'${m}' (not tracked) also uses \${${variable}}`;
          break;
        }
        if (!sameTarget) {
          const repo = byName.get(m)?.repository ?? renderTemplate(parts);
          why = `\${${variable}} is shared with '${m === lead.service ? (members.find((x) => x !== m) ?? m) : m}' (${repo}): one value cannot pin two images`;
          break;
        }
      }
      if (!why) {
        const found = new Set<string>();
        for (const o of owners) {
          const rec = records.get(o.service) as RecordedVersion;
          const repo = byName.get(o.service)?.repository ?? rec.repository;
          const v = valueFor(o.position, repo, rec);
          if ("why" in v) {
            why = v.why;
            break;
          }
          found.add(v.value);
        }
        if (!why && found.size > 1)
          why = `the services sharing \${${variable}} (${owners.map((o) => o.service).join(", ")}) record different versions`;
        if (!why) values.set(variable, [...found][0] as string);
      }
      if (why) dropped.set(variable, why);
    }
    if (dropped.size === 0) {
      for (const variable of written) {
        const members = (users.get(variable) ?? []).sort();
        for (const m of members) {
          if (!candidates.has(m)) continue;
          pins.set(m, { state: "pinned", variable, value: values.get(variable) as string, members });
        }
      }
      break;
    }
    for (const [variable, why] of dropped) {
      written.delete(variable);
      for (const c of candidates.values()) if (c.variable === variable) reasons.set(c.service, why);
    }
  }

  for (const input of inputs) {
    if (!input.active || pins.has(input.service)) continue;
    if (!records.has(input.service)) {
      pins.set(input.service, { state: "untracked" });
      continue;
    }
    const reason = reasons.get(input.service) ?? "it has no version variable";
    const edit = propose ? suggestEdit(input.service, inputs, records, parsed) : { edit: null };
    const shared = candidates.has(input.service);
    pins.set(input.service, { state: "unpinned", reason, shared, ...edit });
  }

  // The services of each variable, in the order of `pins`: one pass, not one per variable.
  const pinned = [...pins].flatMap(([service, p]) => (p.state === "pinned" ? [{ service, p }] : []));
  const servicesOf = groupBy(pinned, ({ p }) => p.variable);
  const assignments: Assignment[] = [...values.entries()]
    .map(([variable, value]) => ({
      variable,
      value,
      services: (servicesOf.get(variable) ?? []).map(({ service }) => service),
    }))
    .sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0));
  return { pins, assignments };
}

function sameRepository(
  a: ImageInput | undefined,
  b: ImageInput | undefined,
  aParts: readonly Part[],
  bParts: readonly Part[],
): boolean {
  if (a?.repository && b?.repository) return a.repository === b.repository;
  return prefixOf(aParts) === prefixOf(bParts);
}

/** An untracked service follows a group only when its text before the variable is identical. */
function sameUntracked(parts: readonly Part[], lead: readonly Part[]): boolean {
  const last = parts[parts.length - 1];
  const leadLast = lead[lead.length - 1];
  return (
    last?.kind === "var" &&
    leadLast?.kind === "var" &&
    last.name === leadLast.name &&
    positionOf(parts, parts.length - 1).kind !== "none" &&
    prefixOf(parts) === prefixOf(lead)
  );
}

/** A variable name for a service, in the usual SHOUTING form. */
export function variableFor(service: string): string {
  const base = service
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return `${/^[0-9]/.test(base) || base === "" ? `S_${base}` : base}_VERSION`;
}

/**
 * The smallest edit of one service's template that pins it, proven by planning again with it:
 * its whole tag governed by a variable of its own, defaulting to what decided the tag before.
 */
function suggestEdit(
  service: string,
  inputs: readonly ImageInput[],
  records: ReadonlyMap<string, RecordedVersion>,
  parsed: ReadonlyMap<string, Part[]>,
): { edit: string | null; variable?: string } {
  const parts = parsed.get(service);
  if (!parts) return { edit: null };
  const taken = new Set<string>();
  for (const ps of parsed.values()) for (const o of effectiveVariables(ps, new Set())) taken.add(o.name);
  // A template several services share (an anchor, an extended service) is edited once for all
  // of them: its variable is named after the repository they share.
  const self = inputs.find((i) => i.service === service);
  const sharers = inputs.filter((i) => i.template === self?.template && i.template !== undefined);
  const base =
    sharers.length > 1 && self?.repository
      ? variableFor(self.repository.split("/").pop() as string)
      : variableFor(service);
  let variable = base;
  for (let n = 2; taken.has(variable); n++) variable = `${base}_${n}`;
  const edit = governTag(parts, variable);
  if (!edit) return { edit: null };
  const again = plan(
    inputs.map((i) => (sharers.includes(i) ? { ...i, template: edit } : i)),
    records,
    false,
  );
  return again.pins.get(service)?.state === "pinned" ? { edit, variable } : { edit: null };
}

/**
 * The services that move together with `service`: those whose tag (or whole image) is the same
 * variable in the same place, for the same repository. One value pins them all, so a change of
 * one is a change of each. Just the service itself when it shares nothing.
 */
export function versionGroup(inputs: readonly ImageInput[], service: string): string[] {
  const keyOf = (input: ImageInput): string | null => {
    if (!input.active || input.template === undefined || !input.repository) return null;
    let parts: Part[];
    try {
      parts = parseTemplate(input.template);
    } catch {
      return null;
    }
    const last = parts[parts.length - 1];
    if (last?.kind !== "var") return null;
    const position = positionOf(parts, parts.length - 1);
    if (position.kind === "none") return null;
    return JSON.stringify([last.name, position, input.repository]);
  };
  const self = inputs.find((i) => i.service === service);
  const key = self ? keyOf(self) : null;
  if (key === null) return [service];
  return inputs
    .filter((i) => keyOf(i) === key)
    .map((i) => i.service)
    .sort();
}
