// The linter and the formatter over nnc's own code, as `npm run lint` runs them: ESLint with the
// repository's eslint.config.js, and prettier's check with .prettierrc.json (.prettierignore keeps data,
// golden files and generated output out). Each problem is listed by file (and line:col for ESLint);
// `npm run format` fixes the formatting.
import fs from "node:fs";
import path from "node:path";
import { ESLint } from "eslint";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";

const roots = ["src", "grammar", "test", "bench", "scripts", "editors"];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return d.name === "node_modules" || d.name === ".tmp" ? [] : sources(p);
    return /\.(ts|mjs|js)$/.test(d.name) && !d.name.endsWith(".d.ts") ? [p] : [];
  });
}

describe("lint", () => {
  it("ESLint finds no problem in src/, grammar/, test/, bench/, scripts/, editors/", async () => {
    const eslint = new ESLint();
    const results = await eslint.lintFiles(roots);
    const problems = results.flatMap((r) =>
      r.messages.map(
        (m) => `${r.filePath.slice(process.cwd().length + 1)}:${m.line}:${m.column} ${m.ruleId ?? ""} ${m.message}`,
      ),
    );
    expect(problems).toEqual([]);
  });

  it("every source file is formatted as prettier prints it (npm run format)", async () => {
    const unformatted: string[] = [];
    for (const file of [...roots.flatMap((r) => sources(r)), "vitest.config.ts", "eslint.config.js"]) {
      const info = await prettier.getFileInfo(file, { ignorePath: ".prettierignore" });
      if (info.ignored) continue;
      const options = await prettier.resolveConfig(file);
      const text = fs.readFileSync(file, "utf8");
      if (!(await prettier.check(text, { ...options, filepath: file }))) unformatted.push(file);
    }
    expect(unformatted).toEqual([]);
  });
});
