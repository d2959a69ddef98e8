// The linter over nnc's own code, as `npm run lint` runs it: ESLint with the repository's eslint.config.js.
// Each problem is listed as file:line:col.
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const roots = ["src", "grammar", "test", "bench", "scripts", "editors"];

describe("lint", () => {
  it("ESLint finds no problem in src/, grammar/, test/, bench/, scripts/, editors/", async () => {
    const eslint = new ESLint();
    const results = await eslint.lintFiles(roots);
    const problems = results.flatMap((r) =>
      r.messages.map((m) => `${r.filePath.slice(process.cwd().length + 1)}:${m.line}:${m.column} ${m.ruleId ?? ""} ${m.message}`),
    );
    expect(problems).toEqual([]);
  });
});
