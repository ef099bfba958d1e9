// Types of check-imports.mjs, for the unit test that runs its rules.
export const COMMAND_SUPPORT: Set<string>;
export function importsOf(text: string): string[];
export function importGraph(root: string): Map<string, string[]>;
export function findCycles(graph: Map<string, string[]>): string[][];
export function layerViolations(graph: Map<string, string[]>): string[];
