import { describe, expect, it } from "vitest";
import { RegistryError } from "../../src/adapters/registry/errors.js";
import { nextPageUrl, parseTagList } from "../../src/adapters/registry/tags.js";

describe("nextPageUrl", () => {
  const current = new URL("http://127.0.0.1:5077/v2/team/app/tags/list?n=100");
  it.each([
    [
      '</v2/team/app/tags/list?n=100&last=1.9>; rel="next"',
      "http://127.0.0.1:5077/v2/team/app/tags/list?n=100&last=1.9",
    ],
    [
      "<http://127.0.0.1:5077/v2/team/app/tags/list?last=b&n=2>; rel=next",
      "http://127.0.0.1:5077/v2/team/app/tags/list?last=b&n=2",
    ],
    ['<tags/list?last=x>; rel="next"', "http://127.0.0.1:5077/v2/team/app/tags/tags/list?last=x"],
    ['</v2/a?last=1>; rel="prev", </v2/a?last=9>; rel="next"', "http://127.0.0.1:5077/v2/a?last=9"],
    ['</v2/a?last=9>; title="x, y"; rel="last next"', "http://127.0.0.1:5077/v2/a?last=9"],
    ['</v2/a?last=1>; rel="prev"', null],
    ['</v2/a?last=1>; rel="nextpage"', null],
    ["", null],
    [null, null],
  ])("%s → %s", (link, expected) => {
    expect(nextPageUrl(link, current)?.href ?? null).toBe(expected);
  });

  it.each([
    '<https://evil.example/v2/team/app/tags/list?last=1>; rel="next"',
    '<https://127.0.0.1:5077/v2/x>; rel="next"', // another scheme is another origin too
    '<//127.0.0.2:5077/v2/x>; rel="next"',
  ])("never follows %s to another host", (link) => {
    expect(() => nextPageUrl(link, current)).toThrow(RegistryError);
  });
});

describe("parseTagList", () => {
  it.each([
    [
      { name: "a", tags: ["1.0", "latest"] },
      { name: "a", tags: ["1.0", "latest"] },
    ],
    [
      { name: "a", tags: null },
      { name: "a", tags: [] },
    ],
    [{ name: "a" }, { name: "a", tags: [] }],
    [{ name: "a", tags: [1] }, null],
    [{ tags: [] }, null],
    ["{}", null],
    [null, null],
  ])("%j", (body, expected) => {
    expect(parseTagList(body)).toEqual(expected);
  });
});
