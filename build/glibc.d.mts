// Types of glibc.mjs for the TypeScript tests.
export function compareVersions(a: string, b: string): number;
export function requiredVersions(
  file: string,
): Partial<Record<"GLIBC" | "GLIBCXX" | "CXXABI" | "GCC", string>>;
