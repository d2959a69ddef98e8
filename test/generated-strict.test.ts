// Every module in generated/ is clean under the strictest common settings: TypeScript with
// @tsconfig/strictest (noUncheckedIndexedAccess, exactOptionalPropertyTypes, noUnusedLocals and
// noUnusedParameters, noPropertyAccessFromIndexSignature, noImplicitOverride, …) and typescript-eslint's
// `recommended` rules, without any `@ts-nocheck` or `eslint-disable` in them. One program and one ESLint
// run over all the files (test/generated.test.ts keeps generated/ current with the generator).
import fs from "node:fs";
import path from "node:path";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const modules = fs.readdirSync("generated").filter((f) => f.endsWith(".ts")).map((f) => path.join("generated", f));

describe("generated/ under the strictest settings", () => {
  it("has modules, and none silences a checker", () => {
    expect(modules.length).toBeGreaterThan(10);
    for (const file of modules) expect(fs.readFileSync(file, "utf8"), file).not.toMatch(/@ts-nocheck|@ts-ignore|@ts-expect-error|eslint-disable/);
  });

  it("type-checks with @tsconfig/strictest", () => {
    const config = ts.getParsedCommandLineOfConfigFile(path.resolve("test/generated-strict.tsconfig.json"), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    });
    expect(config).toBeDefined();
    const options = config!.options;
    // The flags this test is about, read from the parsed configuration (so a broken `extends` cannot pass).
    for (const flag of ["strict", "noUncheckedIndexedAccess", "exactOptionalPropertyTypes", "noUnusedLocals", "noUnusedParameters", "noImplicitOverride", "noPropertyAccessFromIndexSignature", "noImplicitReturns", "noFallthroughCasesInSwitch"] as const) {
      expect(options[flag], flag).toBe(true);
    }
    expect(config!.fileNames.map((f) => path.relative(process.cwd(), f)).sort()).toEqual([...modules].sort());
    const program = ts.createProgram(config!.fileNames, options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `${path.relative(process.cwd(), d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : "";
      return `${where} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    expect(problems.slice(0, 20)).toEqual([]);
    expect(problems.length).toBe(0);
  }, 120_000);

  it("passes typescript-eslint's recommended rules", async () => {
    // A flat config given here, so no eslint.config.js is read (and nothing else in the repository is linted).
    const eslint = new ESLint({ cwd: process.cwd(), overrideConfigFile: true, overrideConfig: tseslint.configs.recommended });
    const rules = (await eslint.calculateConfigForFile(modules[0]!)) as { rules: Record<string, unknown> };
    expect(Object.keys(rules.rules)).toEqual(expect.arrayContaining(["@typescript-eslint/no-unused-vars", "@typescript-eslint/no-explicit-any", "prefer-const"]));
    const results = await eslint.lintFiles(modules);
    expect(results.map((r) => path.relative(process.cwd(), r.filePath)).sort()).toEqual([...modules].sort());
    const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(process.cwd(), r.filePath)}:${m.line} ${m.ruleId ?? "fatal"} ${m.message}`));
    expect(problems.slice(0, 20)).toEqual([]);
    expect(problems.length).toBe(0);
  }, 120_000);
});
