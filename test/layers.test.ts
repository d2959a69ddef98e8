// The dependency rule of ARCHITECTURE.md ("Layers"), enforced: every relative import in src/ and grammar/
// goes from a layer to the same or a lower one, and no two files import each other, directly or through
// others. Type-only imports count too: a layer that names another's types knows about it.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/** Lowest first. A file belongs to the first entry its path starts with. */
export const layers: readonly (readonly string[])[] = [
  ["src/version.ts", "src/diagnostics/"],
  ["grammar/"],
  ["src/syntax/"],
  ["src/format/", "src/vocabulary/"],
  ["src/resolve/"],
  ["src/ir/"],
  ["src/analyze/"],
  ["src/lower/"],
  ["src/count/"],
  ["src/weights/"],
  ["src/program/"],
  ["src/emit/"],
  ["src/lsp/"],
  ["src/cli/", "src/plugin/"],
  ["src/index.ts"],
];

function layerOf(file: string): number {
  const i = layers.findIndex((prefixes) => prefixes.some((p) => file === p || (p.endsWith("/") && file.startsWith(p))));
  if (i < 0) throw new Error(`${file} belongs to no layer: add it to test/layers.test.ts and ARCHITECTURE.md`);
  return i;
}

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.relative(".", path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

/** The repository files a source file imports (relative specifiers only; `.js` names the `.ts` source).
 *  TypeScript's own pre-processor finds them (static, type-only and dynamic imports, re-exports; never text
 *  inside strings or comments). */
export function importsOf(file: string, text: string): string[] {
  const specifiers = ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((s) => s.startsWith("./") || s.startsWith("../"));
  return specifiers.map((s) =>
    path.posix.normalize(path.posix.join(path.posix.dirname(file), s)).replace(/\.js$/, ".ts"),
  );
}

const files = [...sources("src"), ...sources("grammar")];
const graph = new Map(files.map((f) => [f, importsOf(f, fs.readFileSync(f, "utf8"))]));

describe("layers", () => {
  it("every file of src/ and grammar/ belongs to a layer, and every import names a file that exists", () => {
    for (const [file, imports] of graph) {
      layerOf(file);
      for (const target of imports) expect(files, `${file} imports ${target}`).toContain(target);
    }
  });

  it("imports go down (or sideways within a layer), never up", () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) if (layerOf(target) > layerOf(file)) upward.push(`${file} → ${target}`);
    }
    expect(upward).toEqual([]);
  });

  it("no file-level import cycle", () => {
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, stack: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...stack.slice(stack.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const target of graph.get(file) ?? []) visit(target, [...stack, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("the checker reads imports as TypeScript does and ranks an upward one higher (made-up files)", () => {
    expect(
      importsOf("src/vocabulary/x.ts", `import { a } from "../analyze/analyze.js";\nconst m = await import("./y.js");`),
    ).toEqual(["src/analyze/analyze.ts", "src/vocabulary/y.ts"]);
    expect(layerOf("src/analyze/analyze.ts")).toBeGreaterThan(layerOf("src/vocabulary/x.ts"));
  });
});
