// Types of targets.mjs for the TypeScript tests.
export interface Target {
  nodePackage: string;
  nodeArch: string;
  triple: string;
  qemu: string;
  apt: string[];
}
export const TARGETS: Record<"x86_64" | "aarch64", Target>;
export type TargetName = keyof typeof TARGETS;
export function hostTarget(): TargetName | undefined;
export function assetName(target: string): string;
export function onPath(name: string): string;
export function runPrefix(target: string): string[];
export function stripFor(target: string): string;
export function pinnedNode(
  root: string,
  target: string,
  run?: (file: string, args: string[]) => void,
): string;
