// generated/ is the compiler's current output for examples/ (refresh with `npm run gen`). That every module
// there — and in a set of specs covering every emitted kind — type-checks, under @tsconfig/strictest (which
// includes `strict`), is test/generated-strict.test.ts's one program.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { expectedGenerated } from "../src/emit/generated-dir.js";

describe("generated/", () => {
  it("is up to date with the compiler and examples/ (run `npm run gen`)", async () => {
    const { files } = await expectedGenerated("examples");
    const present = fs.readdirSync("generated").sort();
    expect(present).toEqual([...files.keys()].sort());
    for (const [name, text] of files) expect(fs.readFileSync(path.join("generated", name), "utf8"), name).toBe(text);
  }, 120_000);

  // The largest is DenseNet-121 (about 1.08 MB: 249 ops of distinct shapes, each dense layer reading 32 more
  // channels than the one before), then Llama-2-7B (about 0.66 MB for 6.7 billion parameters).
  it("source size grows with layers, not parameters: every module is under 1.5 MB (Llama-2-7B included)", () => {
    for (const f of fs.readdirSync("generated").filter((x) => x.endsWith(".ts"))) {
      expect(fs.statSync(path.join("generated", f)).size, f).toBeLessThan(1_500_000);
    }
  });
});
