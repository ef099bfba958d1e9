// Types of push-tags.mjs for the TypeScript tests.
export function pushTags(opts: {
  registry: string;
  /** An existing repo:tag in the same registry whose image is reused. */
  from: string;
  repository: string;
  tags: readonly string[];
  distinct?: boolean;
}): Promise<Record<string, string>>;
