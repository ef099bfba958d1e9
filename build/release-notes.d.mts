// Types of release-notes.mjs for the TypeScript tests.
export function notesFor(changelog: string, version: string): string;
