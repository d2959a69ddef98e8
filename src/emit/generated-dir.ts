// What `generated/` must hold: the compiler's output for every example, and a README listing what each
// example produced or why it cannot be compiled yet. `npm run gen` writes it; a test compares it (and
// fails, never rewrites, when it is stale).
import fs from "node:fs";
import path from "node:path";
import { nodeHost } from "../program/node-host.js";
import { compileFile, compileOptionsSchema } from "./compile.js";

export interface GeneratedDir {
  /** File name (inside generated/) → contents. */
  readonly files: ReadonlyMap<string, string>;
}

function examples(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".nn"))
    .map((e) => path.join(dir, e.name))
    .sort();
}

export async function expectedGenerated(examplesDir = "examples"): Promise<GeneratedDir> {
  const files = new Map<string, string>();
  const rows: string[] = [];
  for (const example of examples(examplesDir)) {
    const result = await compileFile(example, nodeHost, compileOptionsSchema.parse({}));
    if (result.files.length > 0) {
      for (const f of result.files) files.set(f.path, f.text);
      rows.push(`| \`${example}\` | ${result.files.map((f) => `[\`${f.path}\`](${f.path})`).join(", ")} |`);
    } else {
      const reasons = [
        ...new Set(result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`)),
      ];
      rows.push(`| \`${example}\` | not yet: ${reasons.join("; ").replace(/\|/g, "\\|")} |`);
    }
  }
  files.set(
    "README.md",
    `# generated/

The output of \`nnc build\` for every spec in \`examples/\`, one module per model, committed so that a
change to the code generator shows up in review. Do not edit: run \`npm run gen\` (a test fails when this
directory is stale).

| example | module |
|---|---|
${rows.join("\n")}
`,
  );
  return { files };
}
