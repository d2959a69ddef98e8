// `nnc verify <spec> --against <file.safetensors>`: does the checkpoint hold exactly the model's tensors?
// Exit 0 when it does, 1 on any mismatch (or an error in the spec or the file), 2 on a usage error. The
// report goes to stdout (text, or JSON with the diagnostics inside); diagnostics to stderr.
import { diagnosticToJson, summary } from "../diagnostics/render.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import { stringifyExact } from "../count/report.js";
import type { Host } from "../program/load.js";
import { verifyProgram } from "../program/verify.js";
import { renderVerifyText } from "../weights/verify.js";
import { UsageError, type Command, type Parsed } from "./args.js";

export const verifyCommand: Command = {
  name: "verify",
  synopsis: "<file> --against <weights.safetensors> [--model NAME] [--prefix P]\n[--format text|json]",
  summary: "check a checkpoint against a spec: missing, unexpected, mis-shaped tensors",
  details: [
    "Like PyTorch's load_state_dict(strict=True), before any training: tensors missing, unexpected, of\nanother shape (transposed recognized) or of a dtype that cannot hold them; a prefix on the names; ties\nstored once or twice; BatchNorm buffers; NaN and infinite values; the parameter total of each side.",
    "Exit 0 when the checkpoint matches, 1 on any mismatch. A prefix found but not given is a mismatch:\nthe report shows the checks made with it stripped, and --prefix accepts it.",
  ],
  flags: [
    { name: "against", value: "FILE", help: "the checkpoint, a .safetensors file (required)" },
    { name: "model", value: "NAME", help: "the model of the spec to verify (required when it has several)" },
    { name: "prefix", value: "P", help: "strip P from the checkpoint names that start with it (`net.`)" },
    { name: "format", value: "FORMAT", choices: ["text", "json"], noun: "format", help: "text, json (default text)" },
  ],
};

export interface VerifyIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly host: Host;
  /** The spec: its name, and its text when it came from standard input. */
  readonly input: { readonly name: string; readonly text?: string };
  readonly report: (diagnostics: readonly Diagnostic[], sources: Map<string, SourceText>) => void;
}

export function runVerify(parsed: Parsed, io: VerifyIo): number {
  const value = (flag: string) => {
    const v = parsed.values.get(flag);
    return typeof v === "string" ? v : undefined;
  };
  const against = value("against");
  if (against === undefined)
    throw new UsageError("`nnc verify` needs `--against FILE`", "name the checkpoint: `--against model.safetensors`");
  const model = value("model");
  const prefix = value("prefix");
  const fmt = value("format") ?? "text";
  const result = verifyProgram(io.input.name, io.host, io.input.text, {
    against,
    ...(model !== undefined ? { model } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
  });
  const sources = new Map([...result.value.checked.program.files].map(([f, l]) => [f, l.source]));
  const report = result.value.report;
  if (fmt === "json") {
    const json = {
      file: io.input.name,
      against,
      ...(report ?? { match: false }),
      diagnostics: result.diagnostics.map(diagnosticToJson),
    };
    io.stdout(stringifyExact(json) + "\n");
  } else {
    io.report(result.diagnostics, sources);
    if (report) io.stdout(renderVerifyText(report, io.input.name, against));
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) io.stderr(`${summary(result.diagnostics)}\n`);
  }
  return report?.match === true ? 0 : 1;
}
