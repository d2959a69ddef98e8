// `nnc build <files…> [--out DIR] [--model NAME] [--dtype float32|float64] [--unroll-limit N] [--tile N]`:
// one TypeScript module per model. All or nothing: when any input has an error, no file is written; each
// file is written atomically (temporary file, then rename).
import fs from "node:fs";
import path from "node:path";
import { compileFile, compileOptionsSchema, type EmittedFile } from "../emit/compile.js";
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import type { Host } from "../program/load.js";

export interface BuildRequest {
  readonly inputs: readonly { name: string; text?: string }[];
  readonly out: string;
  readonly options: Record<string, unknown>;
  readonly host: Host;
  readonly write: (file: string, text: string) => void;
}

export interface BuildOutcome {
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, SourceText>;
  readonly written: readonly string[];
  /** An option error: the caller reports it as a usage error (exit 2). */
  readonly usage?: string;
}

export async function build(request: BuildRequest): Promise<BuildOutcome> {
  const parsed = compileOptionsSchema.safeParse(request.options);
  if (!parsed.success) {
    return { diagnostics: [], sources: new Map(), written: [], usage: parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ") };
  }
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, SourceText>();
  const outputs: EmittedFile[] = [];
  for (const input of request.inputs) {
    const result = await compileFile(input.name, request.host, parsed.data, input.text);
    for (const d of result.diagnostics) diagnostics.push(d);
    for (const [name, source] of result.sources) sources.set(name, source);
    outputs.push(...result.files);
  }
  if (hasErrors(diagnostics)) return { diagnostics, sources, written: [] };
  const names = new Set<string>();
  for (const f of outputs) {
    if (names.has(f.path)) {
      return { diagnostics, sources, written: [], usage: `two inputs would both write ${f.path}; build them into different --out directories` };
    }
    names.add(f.path);
  }
  fs.mkdirSync(request.out, { recursive: true });
  const written: string[] = [];
  for (const f of outputs) {
    const target = path.join(request.out, f.path);
    request.write(target, f.text);
    written.push(target);
  }
  return { diagnostics, sources, written };
}
