// The checking pipeline for one entry file: load (parse the file and its imports), then resolve names and
// options in every file that parsed. Later stages (shapes, counts) hang off the same function.
import type { Diagnostic, Result } from "../diagnostics/diagnostic.js";
import { load, type Host, type Program } from "./load.js";

export interface Checked {
  readonly program: Program;
}

export function checkProgram(entry: string, host: Host, text?: string): Result<Checked> {
  const loaded = load(entry, host, text);
  const diagnostics: Diagnostic[] = [...loaded.diagnostics];
  return { value: { program: loaded.value }, diagnostics };
}
