// Golden diagnostics: every `test/diagnostics/*.nn` file (or `test/diagnostics/NAME/main.nn` for cases with
// imports) is checked and its rendered diagnostics compared with the `.expected` file beside it. The first
// line of each case names the code it demonstrates (`# expect: NN2004`), and the test asserts that code is
// reported, so a re-bless cannot silently turn a case into something else.
// Re-bless: `npm run bless` (NNC_BLESS=1).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sortDiagnostics } from "../src/diagnostics/diagnostic.js";
import { renderDiagnostics } from "../src/diagnostics/render.js";
import { nodeHost } from "../src/program/node-host.js";
import { checkProgram } from "../src/program/check.js";

const dir = "test/diagnostics";
const bless = process.env["NNC_BLESS"] === "1";

function cases(): { name: string; entry: string; expected: string }[] {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.isFile() && entry.name.endsWith(".nn")) {
      const name = entry.name.slice(0, -3);
      out.push({ name, entry: path.join(dir, entry.name), expected: path.join(dir, `${name}.expected`) });
    } else if (entry.isDirectory()) {
      out.push({
        name: entry.name,
        entry: path.join(dir, entry.name, "main.nn"),
        expected: path.join(dir, entry.name, "main.expected"),
      });
    }
  }
  return out;
}

const all = cases();

describe("golden diagnostics", () => {
  it.each(all)("$name", ({ entry, expected }) => {
    const source = fs.readFileSync(entry, "utf8");
    const wanted = /^# expect: (NN\d{4})/.exec(source)?.[1];
    expect(wanted, `${entry} must start with "# expect: NNxxxx"`).toBeDefined();
    const checked = checkProgram(entry, nodeHost);
    const ds = sortDiagnostics(checked.diagnostics);
    expect(ds.map((d) => d.code)).toContain(wanted);
    const sources = new Map([...checked.value.program.files].map(([f, l]) => [f, l.source]));
    const rendered = renderDiagnostics(ds, (f) => sources.get(f));
    if (bless || !fs.existsSync(expected)) {
      if (!bless) throw new Error(`${expected} is missing: run \`npm run bless\``);
      fs.writeFileSync(expected, rendered);
    } else {
      expect(rendered).toBe(fs.readFileSync(expected, "utf8"));
    }
  });

  it("covers at least 30 distinct diagnostic codes", () => {
    const codes = new Set(all.map((c) => /^# expect: (NN\d{4})/.exec(fs.readFileSync(c.entry, "utf8"))?.[1]));
    expect(codes.size).toBeGreaterThanOrEqual(30);
  });
});
