// Every example checks cleanly (its `expect` assertions included) and is in canonical form.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { nodeHost } from "../src/program/node-host.js";
import { format } from "../src/format/format.js";
import { checkProgram } from "../src/program/check.js";

function nnFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? nnFiles(path.join(dir, e.name)) : e.name.endsWith(".nn") ? [path.join(dir, e.name)] : [],
    )
    .sort();
}

const files = nnFiles("examples");
const required = [
  "xor",
  "mnist-mlp",
  "lenet5",
  "resnet18",
  "resnet50",
  "vgg16",
  "mobilenet-v2",
  "vit-b16",
  "gpt2",
  "bert-base",
  "llama2-7b",
  "lstm-classifier",
];

describe("examples", () => {
  it("include every model the project promises", () => {
    for (const name of required) expect(files).toContain(path.join("examples", `${name}.nn`));
  });

  it.each(files)("%s checks without diagnostics", (file) => {
    const checked = checkProgram(file, nodeHost);
    expect(checked.diagnostics.map((d) => `${d.code} ${d.span?.line}: ${d.message}`)).toEqual([]);
  });

  it.each(files)("%s is in canonical form (nnc fmt --check)", (file) => {
    const text = fs.readFileSync(file, "utf8");
    expect(format(text, file).value).toBe(text);
  });

  it.each(files.filter((f) => !f.includes(`${path.sep}lib${path.sep}`)))("%s states its parameter count", (file) => {
    expect(fs.readFileSync(file, "utf8")).toMatch(/expect params == /);
  });
});
