import { defineConfig } from "vitest/config";

/** The inner-loop tier (`npm run test:fast`, under 30 s): syntax, names, counts, diagnostics, the formatter
 *  and the catalogue — no code generation, no build of `dist/`, no browser. `npm test` runs every tier. */
const fast = [
  "test/parser.test.ts",
  "test/resolve.test.ts",
  "test/suggest.test.ts",
  "test/count.test.ts",
  "test/targets.test.ts",
  "test/examples.test.ts",
  "test/diagnostics.test.ts",
  "test/vocabulary-ranges.test.ts",
  "test/analysis-cost.test.ts",
  "test/format.test.ts",
  "test/catalogue.test.ts",
  "test/layers.test.ts",
  "test/registry.test.ts",
  "test/binder.test.ts",
  "test/grammar-docs.test.ts",
  "test/readme.test.ts",
  "test/lsp-incremental.test.ts",
  "test/state-dicts.test.ts",
  "test/state-dicts-layouts.test.ts",
];

/** Files that measure the process they run in (the fuzzer bounds its RSS) or leave large modules behind
 *  (the examples' training steps: U-Net's 31 million parameters and their workspaces), each run in a
 *  process of its own. */
const isolated = ["test/fuzz.test.ts", "test/examples-train.test.ts"];

export default defineConfig({
  test: {
    // The JSON report is what .ci/run reads for its closing `N passed, N failed` line.
    reporters: ["default", "json"],
    outputFile: { json: ".vitest-results.json" },
    testTimeout: 60_000,
    // Vitest's default on 2 cores is one worker (cores − 1); most test files wait on child processes or
    // builds part of the time, so two workers finish the suite sooner there.
    maxWorkers: 2,
    // Test files share each worker's module cache instead of importing the compiler, TypeScript, prettier and
    // TF.js afresh for every file: about a third less CPU for the suite (measured on 2 cores: the fast tier
    // 33 s → 21.5 s of user time). No test file mocks a module or changes global state it does not restore;
    // generated modules are written to files of their own names, so no two files share a module instance.
    isolate: false,
    projects: [
      { extends: true, test: { name: "fast", include: fast } },
      { extends: true, test: { name: "full", include: ["test/**/*.test.ts"], exclude: [...fast, ...isolated] } },
      { extends: true, test: { name: "isolated", include: isolated, isolate: true } },
    ],
  },
});
