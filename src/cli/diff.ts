// `nnc diff <a.nn> <b.nn>`: what changed between two models — tensors added, removed, reshaped, moved,
// recounted, and the deltas of parameters, MACs and bytes (with --batch, activation and training memory) — as text, Markdown (for a pull-request comment)
// or JSON. A side is `file.nn` or `file.nn#Model` (two models of one file: `m.nn#A m.nn#B`); `--model`
// names the model of a side that does not. Exit 0 whether or not anything changed, unless
// --fail-on-change (then 1 on a change); 1 when a spec has errors, 2 on a usage error.
import { summary } from "../diagnostics/render.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import { diffModels, renderDiffMarkdown, renderDiffText } from "../count/diff.js";
import { stringifyExact } from "../count/report.js";
import type { Host } from "../program/load.js";
import { UsageError, type Command, type Parsed } from "./args.js";
import { oneModel } from "../program/one-model.js";

export const diffCommand: Command = {
  name: "diff",
  synopsis:
    "<a.nn>[#Model] <b.nn>[#Model] [--model NAME] [--format text|markdown|json]\n[--batch N [--dtype float32|float64]] [--fail-on-change] [--root DIR]",
  summary: "what changed between two models: tensors and the deltas of every figure",
  details: [
    "Tensors by state_dict name: added (+), removed (−), reshaped (~, same name, another shape), moved (→,\nsame shape and role, another name) and recounted (×, another number of copies: a repeat count changed);\nthen parameters, MACs and bytes before and after, with exact deltas; with --batch N also the activations\nthe generated modules keep for backward and their training memory with Adam (as `nnc count --batch`).",
    "A side is a file, or `file.nn#Model` for one of its models (two models of one file: `m.nn#A m.nn#B`);\n--model names the model of every side that does not say. Exit 0 whether or not anything changed\n(1 with --fail-on-change when something did); 1 when a spec has errors.",
  ],
  flags: [
    { name: "model", value: "NAME", help: "the model of each side that names none (`file.nn#Model` does)" },
    {
      name: "format",
      value: "FORMAT",
      choices: ["text", "markdown", "json"],
      noun: "format",
      help: "text, markdown, json (default text)",
    },
    { name: "batch", value: "N", whole: true, help: "compare activation and training memory at batch size N" },
    {
      name: "dtype",
      value: "TYPE",
      choices: ["float32", "float64"],
      noun: "dtype",
      help: "the generated modules' storage for --batch: float32 (default) or float64",
    },
    { name: "fail-on-change", help: "exit 1 when anything changed" },
    { name: "root", value: "DIR", help: "read only files inside DIR: an import outside it is an error (NN6006)" },
  ],
};

export interface DiffIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly host: Host;
  /** A side's spec text when it is `-` (standard input). */
  readonly stdinText: () => string;
  readonly stdinName: string;
  readonly report: (diagnostics: readonly Diagnostic[], sources: Map<string, SourceText>) => void;
}

/** `file.nn#Model` → the file and the model; a `#` not followed by a name is part of the file name. */
export function splitSide(side: string): { file: string; model?: string } {
  const m = /^(.+)#([A-Za-z_][A-Za-z0-9_]*)$/.exec(side);
  return m ? { file: m[1]!, model: m[2]! } : { file: side };
}

export function runDiff(parsed: Parsed, io: DiffIo): number {
  const value = (flag: string) => {
    const v = parsed.values.get(flag);
    return typeof v === "string" ? v : undefined;
  };
  if (parsed.positionals.length !== 2)
    throw new UsageError(
      `diff takes two specs, found ${parsed.positionals.length}`,
      "write `nnc diff before.nn after.nn`, or `nnc diff m.nn#A m.nn#B` for two models of one file",
    );
  const sides = parsed.positionals.map(splitSide);
  if (sides.filter((s) => s.file === "-").length > 1)
    throw new UsageError("only one side of `nnc diff` can be standard input");
  const fmt = value("format") ?? "text";
  const batchText = value("batch");
  const batch = batchText === undefined ? undefined : BigInt(batchText.replace(/_/g, ""));
  if (batch === 0n)
    throw new UsageError("`--batch` must be at least 1", "give the number of samples, e.g. `--batch 8`");
  if (value("dtype") !== undefined && batch === undefined)
    throw new UsageError("`--dtype` applies to the memory figures of `--batch`", "add `--batch N`");
  const dtype = (value("dtype") ?? "float32") as "float32" | "float64";
  const loaded = sides.map((s) => {
    const stdin = s.file === "-";
    const model = s.model ?? value("model");
    return oneModel(stdin ? io.stdinName : s.file, io.host, stdin ? io.stdinText() : undefined, model, "compare");
  });
  for (const l of loaded) io.report(l.diagnostics, l.sources);
  const [a, b] = loaded;
  if (!a!.model || !b!.model) {
    io.stderr(`${summary([...a!.diagnostics, ...b!.diagnostics])}\n`);
    return 1;
  }
  const diff = diffModels(a!.model, b!.model, batch !== undefined ? { batch, dtype } : undefined);
  if (fmt === "json") io.stdout(stringifyExact(diff) + "\n");
  else if (fmt === "markdown") io.stdout(renderDiffMarkdown(diff));
  else io.stdout(renderDiffText(diff));
  return diff.changed && parsed.values.has("fail-on-change") ? 1 : 0;
}
