// The README and the docs stay true: CI runs exactly the quickstart's commands, the walkthrough quotes the
// files it names, and every relative link points at a file of the repository.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { dotToSvg } from "../src/count/svg.js";
import { capture } from "./helpers/cli.js";

const readme = fs.readFileSync("README.md", "utf8");

/** The fenced blocks of a Markdown section (from its heading to the next heading of the same level). */
function blocks(markdown: string, heading: string): { lang: string; body: string }[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const level = heading.split(" ")[0]!;
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n${level} `));
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

describe("README", () => {
  it("CI runs exactly the quickstart's commands, in order", () => {
    const quickstart = blocks(readme, "## Quickstart").find((b) => b.lang === "sh");
    expect(quickstart).toBeDefined();
    const commands = quickstart!.body.trim().split("\n");
    expect(commands).toHaveLength(2);
    expect(commands[1]).toBe("npm test");
    const ci = fs
      .readFileSync(".ci/run", "utf8")
      .split("\n")
      .map((l) => l.trim());
    const positions = commands.map((c) => ci.findIndex((l) => l === c || l.startsWith(`${c} ||`)));
    expect(
      positions.every((p) => p >= 0),
      `.ci/run lacks one of ${JSON.stringify(commands)}`,
    ).toBe(true);
    expect(positions[0]!).toBeLessThan(positions[1]!);
  });

  it("the walkthrough's spec is examples/walkthrough/circle.nn, without its comments", () => {
    const spec = blocks(readme, "## From a spec to a trained model").find((b) => b.lang === "nn");
    const file = fs.readFileSync("examples/walkthrough/circle.nn", "utf8");
    const code = file
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .join("\n")
      .trim();
    expect(spec?.body.trim()).toBe(code);
  });

  // A ```sh block of one `$ nnc …` line is followed by a block of exactly what it prints.
  for (const heading of ["## Drawing a model", "## Comparing two specs"]) {
    it(`the outputs shown in "${heading}" are what the commands print`, async () => {
      const bs = blocks(readme, heading);
      const shown = bs.flatMap((b, i) => (b.lang === "sh" && /^\$ nnc [^\n]*\n$/.test(b.body) ? [i] : []));
      expect(shown.length).toBeGreaterThan(0);
      for (const i of shown) {
        const args = bs[i]!.body.trim().split(" ").slice(2);
        const c = capture();
        expect(await main(args, c.io), bs[i]!.body).toBe(0);
        expect(bs[i + 1]?.body, bs[i]!.body).toBe(c.out());
      }
    });
  }

  it("the CI recipe shown is examples/ci/nnc-diff.yml", () => {
    const yaml = blocks(readme, "### A pull-request comment in CI").find((b) => b.lang === "yaml");
    expect(yaml?.body).toBe(fs.readFileSync("examples/ci/nnc-diff.yml", "utf8"));
  });

  it("docs/images/resnet18.svg is what `nnc graph examples/resnet18.nn --format svg` draws", async () => {
    const c = capture();
    expect(await main(["graph", "examples/resnet18.nn"], c.io)).toBe(0);
    expect(fs.readFileSync("docs/images/resnet18.svg", "utf8")).toBe(await dotToSvg(c.out()));
  });

  const documents = [
    "README.md",
    ...fs
      .readdirSync("docs")
      .filter((f) => f.endsWith(".md"))
      .map((f) => path.join("docs", f)),
    "ARCHITECTURE.md",
    "grammar/README.md",
    "generated/README.md",
  ];
  for (const doc of documents) {
    it(`every relative link of ${doc} points at a file that exists`, () => {
      const text = fs.readFileSync(doc, "utf8");
      const missing = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => !fs.existsSync(path.join(path.dirname(doc), target)));
      expect(missing).toEqual([]);
    });
  }

  it("names only npm scripts that exist", () => {
    const scripts = Object.keys(JSON.parse(fs.readFileSync("package.json", "utf8")).scripts as Record<string, string>);
    for (const doc of documents) {
      const named = [...fs.readFileSync(doc, "utf8").matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
      for (const name of named) expect(scripts, `${doc} names npm run ${name}`).toContain(name);
    }
  });
});
