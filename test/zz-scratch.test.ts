import fs from "node:fs";
import { it } from "vitest";
import { sortDiagnostics } from "../src/diagnostics/diagnostic.js";
import { renderDiagnostics } from "../src/diagnostics/render.js";
import { nodeHost } from "../src/program/node-host.js";
import { checkProgram } from "../src/program/check.js";
import { modelFigures } from "../src/count/count.js";

it("scratch", () => {
  for (const f of (process.env["SCRATCH"] ?? "").split(",")) {
    const checked = checkProgram(f, nodeHost);
    const sources = new Map([...checked.value.program.files].map(([k, l]) => [k, l.source]));
    console.log(renderDiagnostics(sortDiagnostics(checked.diagnostics), (k) => sources.get(k)));
    for (const m of checked.value.models) console.log(m.analysis.name, String(m.figures.params ?? JSON.stringify(m.figures, (_k, v) => typeof v === "bigint" ? String(v) : v).slice(0, 200)));
  }
});
