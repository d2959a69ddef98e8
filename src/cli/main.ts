// The `nnc` command line. Exit codes follow tsc: 0 clean, 1 diagnostics with errors (or a check that
// failed), 2 a usage error. Human-readable diagnostics go to stderr; stdout carries only the requested
// output (formatted source, JSON), so it stays machine-readable.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { capDiagnostics, diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { diagnosticToJson, renderDiagnostics, summary } from "../diagnostics/render.js";
import type { SourceText } from "../diagnostics/source.js";
import { grouped } from "../count/count.js";
import { countJson, renderMarkdown, renderText, stringifyExact, type CountedModel } from "../count/report.js";
import { format } from "../format/format.js";
import { version } from "../version.js";
import { checkProgram } from "../program/check.js";
import { stdinName, type Host } from "../program/load.js";
import { decodeUtf8, nodeHost, writeFileAtomic } from "./node-host.js";

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Reads all of standard input as bytes (only called for `-`); nnc decodes them as strict UTF-8. */
  readStdin: () => Uint8Array;
  /** Whether stderr is a terminal (colour is used only then). */
  stderrIsTty: boolean;
  env: Record<string, string | undefined>;
  host?: Host;
  writeFile?: (file: string, text: string) => void;
}

export { version };

const usage = `nnc ${version} — a compiler for .nn model specs

usage:
  nnc check <files…> [--format text|json]     check specs; exit 1 on any error
  nnc fmt <files…> [--write | --check]         print the canonical form; --write rewrites in place,
                                               --check exits 1 when a file is not canonical
  nnc count <file> [--model NAME] [--depth N] [--format text|json|markdown]
            [--max-params N] [--max-bytes N]   exact parameter audit: a per-layer table and totals;
                                               exit 1 when the spec has errors or a budget is exceeded
  nnc build <files…> [--out DIR] [--model NAME] [--dtype float32|float64]
            [--unroll-limit N] [--tile N] [--bake-weights FILE]
                                               one TypeScript module per model (forward, backward,
                                               training); nothing is written when any input has an error
  nnc help | --help                            this text
  nnc --version

Use - as a file name to read standard input.
Exit codes: 0 clean, 1 errors found (or --check failed), 2 usage error.`;

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "check":
        return runCheck(rest, io);
      case "fmt":
        return runFmt(rest, io);
      case "count":
        return runCount(rest, io);
      case "build":
        return await runBuild(rest, io);
      case "help":
      case "--help":
      case "-h":
        io.stdout(usage + "\n");
        return 0;
      case "--version":
      case "-v":
        io.stdout(version + "\n");
        return 0;
      case undefined:
        io.stderr(usage + "\n");
        return 2;
      default:
        return usageError(io, `unknown command \`${command}\``, "run `nnc help` for the list of commands");
    }
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error.message, error.help);
    if (error instanceof InputError) {
      report(io, [error.diagnostic], new Map());
      io.stderr(`${summary([error.diagnostic])}\n`);
      return 1;
    }
    throw error;
  }
}

/** Standard input that cannot be read or is not valid UTF-8: reported like an unreadable file (exit 1). */
class InputError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

class UsageError extends Error {
  constructor(
    message: string,
    readonly help?: string,
  ) {
    super(message);
  }
}

function usageError(io: Io, message: string, help?: string): number {
  const d = diagnostic("UsageError", undefined, message, { help });
  io.stderr(renderDiagnostics([d], () => undefined, { color: useColor(io) }));
  return 2;
}

function parse(args: readonly string[], options: NonNullable<ParseArgsConfig["options"]>) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\.$/, "").replace(/^./, (c) => c.toLowerCase()));
  }
}

function useColor(io: Io): boolean {
  if (io.env["NO_COLOR"] !== undefined && io.env["NO_COLOR"] !== "") return false;
  const force = io.env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force !== "false";
  return io.stderrIsTty;
}

interface Input {
  name: string;
  text?: string;
}

function inputsOf(positionals: readonly string[], io: Io): Input[] {
  if (positionals.length === 0) throw new UsageError("no input files", "name one or more .nn files, or - for standard input");
  return positionals.map((p) => (p === "-" ? { name: stdinName, text: readStdinText(io) } : { name: p }));
}

function readStdinText(io: Io): string {
  let bytes: Uint8Array;
  try {
    bytes = io.readStdin();
  } catch (error) {
    throw new InputError(diagnostic("FileNotReadable", undefined, `cannot read standard input: ${(error as Error).message}`));
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) {
    throw new InputError(
      diagnostic("InvalidUtf8", undefined, `cannot read standard input: ${decoded.reason}`, { help: "save the spec as UTF-8" }),
    );
  }
  return decoded.text;
}

/** Most diagnostics rendered for one command; the rest are counted in a closing note. */
const maxShown = 100;

function report(io: Io, diagnostics: readonly Diagnostic[], sources: Map<string, SourceText>): void {
  if (diagnostics.length === 0) return;
  io.stderr(renderDiagnostics(capDiagnostics(diagnostics, maxShown), (f) => sources.get(f), { color: useColor(io) }));
}

function runCheck(args: readonly string[], io: Io): number {
  const { values, positionals } = parse(args, { format: { type: "string", default: "text" } });
  const fmt = values.format as string;
  if (fmt !== "text" && fmt !== "json") throw new UsageError(`unknown format \`${fmt}\``, "use --format text or --format json");
  const host = io.host ?? nodeHost;
  const all: Diagnostic[] = [];
  const sources = new Map<string, SourceText>();
  const files: { file: string; errors: number; warnings: number }[] = [];
  let inputs: Input[];
  try {
    inputs = inputsOf(positionals, io);
  } catch (error) {
    if (!(error instanceof InputError) || fmt !== "json") throw error;
    // Even unreadable standard input is reported in the JSON, so stdout stays machine-readable.
    const json = { files: [{ file: stdinName, errors: 1, warnings: 0 }], diagnostics: [diagnosticToJson(error.diagnostic)] };
    io.stdout(JSON.stringify(json, null, 2) + "\n");
    return 1;
  }
  for (const input of inputs) {
    const checked = checkProgram(input.name, host, input.text);
    for (const [name, f] of checked.value.program.files) sources.set(name, f.source);
    const ds = sortDiagnostics(checked.diagnostics);
    all.push(...ds);
    files.push({
      file: input.name,
      errors: ds.filter((d) => d.severity === "error").length,
      warnings: ds.filter((d) => d.severity === "warning").length,
    });
  }
  if (fmt === "json") {
    io.stdout(JSON.stringify({ files, diagnostics: capDiagnostics(all, 1000).map(diagnosticToJson) }, null, 2) + "\n");
  } else {
    report(io, all, sources);
    if (all.length > 0) io.stderr(`${summary(all)}\n`);
  }
  return hasErrors(all) ? 1 : 0;
}

function runFmt(args: readonly string[], io: Io): number {
  const { values, positionals } = parse(args, { write: { type: "boolean" }, check: { type: "boolean" } });
  if (values.write && values.check) throw new UsageError("--write and --check exclude each other");
  const inputs = inputsOf(positionals, io);
  if (values.write && inputs.some((i) => i.name === stdinName)) {
    throw new UsageError("--write cannot rewrite standard input", "leave out --write to print the result");
  }
  const host = io.host ?? nodeHost;
  const write = io.writeFile ?? writeFileAtomic;
  let failed = false;
  for (const input of inputs) {
    let text = input.text;
    if (text === undefined) {
      const read = host.readFile(input.name);
      if (!read.ok) {
        const name = read.invalidUtf8 ? "InvalidUtf8" : "FileNotReadable";
        report(io, [diagnostic(name, undefined, `cannot read ${input.name}: ${read.reason}`)], new Map());
        failed = true;
        continue;
      }
      text = read.text;
    }
    const formatted = format(text, input.name);
    if (formatted.value === null) {
      // Nothing is written for a file that does not parse.
      report(io, formatted.diagnostics, new Map([[input.name, formatted.source]]));
      failed = true;
      continue;
    }
    if (values.check) {
      if (formatted.value !== text) {
        report(
          io,
          [diagnostic("NotCanonical", undefined, `${input.name} is not in canonical form`, { help: `run \`nnc fmt --write ${input.name}\`` })],
          new Map(),
        );
        failed = true;
      }
    } else if (values.write) {
      if (formatted.value !== text) {
        try {
          write(input.name, formatted.value);
        } catch (error) {
          report(io, [diagnostic("WriteFailed", undefined, `cannot write ${input.name}: ${(error as Error).message}`)], new Map());
          failed = true;
        }
      }
    } else {
      io.stdout(formatted.value);
    }
  }
  return failed ? 1 : 0;
}

function wholeNumber(flag: string, text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const clean = text.replace(/_/g, "");
  if (!/^\d+$/.test(clean)) throw new UsageError(`${flag} takes a whole number, found \`${text}\``);
  return BigInt(clean);
}

function runCount(args: readonly string[], io: Io): number {
  const { values, positionals } = parse(args, {
    model: { type: "string" },
    depth: { type: "string" },
    format: { type: "string", default: "text" },
    "max-params": { type: "string" },
    "max-bytes": { type: "string" },
  });
  const fmt = values.format as string;
  if (fmt !== "text" && fmt !== "json" && fmt !== "markdown") {
    throw new UsageError(`unknown format \`${fmt}\``, "use --format text, json or markdown");
  }
  const depthValue = wholeNumber("--depth", values.depth as string | undefined);
  if (depthValue === 0n) throw new UsageError("--depth must be at least 1");
  const depth = depthValue === undefined ? 3 : Number(depthValue);
  const maxParams = wholeNumber("--max-params", values["max-params"] as string | undefined);
  const maxBytes = wholeNumber("--max-bytes", values["max-bytes"] as string | undefined);
  if (positionals.length !== 1) throw new UsageError("count takes one file", "run it once per file");
  const [input] = inputsOf(positionals, io);
  const model = values.model as string | undefined;
  const checked = checkProgram(input!.name, io.host ?? nodeHost, input!.text, model !== undefined ? { model } : {});
  const sources = new Map([...checked.value.program.files].map(([f, l]) => [f, l.source]));
  const diagnostics = sortDiagnostics(checked.diagnostics);
  if (hasErrors(diagnostics)) {
    // Never a number printed for a spec with errors.
    report(io, diagnostics, sources);
    io.stderr(`${summary(diagnostics)}\n`);
    return 1;
  }
  report(io, diagnostics, sources);
  const models: CountedModel[] = checked.value.models.map((m) => ({ file: input!.name, analysis: m.analysis, figures: m.figures }));
  if (models.length === 0) {
    report(io, [diagnostic("UnknownName", undefined, `${input!.name} defines no model to count`, { help: "a file with only blocks is imported, not counted" })], sources);
    return 1;
  }
  if (fmt === "json") io.stdout(stringifyExact(countJson(models, depth)) + "\n");
  else if (fmt === "markdown") io.stdout(renderMarkdown(models, depth));
  else io.stdout(renderText(models, depth));
  const over: Diagnostic[] = [];
  for (const m of models) {
    if (maxParams !== undefined && m.figures.params > maxParams) {
      over.push(
        diagnostic("BudgetExceeded", undefined, `\`${m.analysis.name}\` has ${grouped(m.figures.params)} parameters, over the budget of ${grouped(maxParams)}`),
      );
    }
    if (maxBytes !== undefined && m.figures.bytes.fp32 > maxBytes) {
      over.push(
        diagnostic("BudgetExceeded", undefined, `\`${m.analysis.name}\` needs ${grouped(m.figures.bytes.fp32)} bytes of fp32 parameters, over the budget of ${grouped(maxBytes)}`),
      );
    }
  }
  report(io, over, sources);
  return over.length > 0 ? 1 : 0;
}

async function runBuild(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: "string", default: "." },
    model: { type: "string" },
    dtype: { type: "string" },
    "unroll-limit": { type: "string" },
    tile: { type: "string" },
    "bake-weights": { type: "string" },
  });
  const inputs = inputsOf(positionals, io);
  const host = io.host ?? nodeHost;
  const options: Record<string, unknown> = {};
  if (values.model !== undefined) options["model"] = values.model;
  if (values.dtype !== undefined) options["dtype"] = values.dtype;
  const unroll = wholeNumber("--unroll-limit", values["unroll-limit"] as string | undefined);
  if (unroll !== undefined) options["unrollLimit"] = Number(unroll);
  const tile = wholeNumber("--tile", values.tile as string | undefined);
  if (tile !== undefined) options["tileColumns"] = Number(tile);
  const bakeFile = values["bake-weights"] as string | undefined;
  if (bakeFile !== undefined) {
    const weights = readWeights(bakeFile, host);
    if (typeof weights === "string") {
      report(io, [diagnostic("FileNotReadable", undefined, `cannot use ${bakeFile} for --bake-weights: ${weights}`)], new Map());
      return 1;
    }
    options["bakeWeights"] = weights;
  }
  // The code generator (prettier, ts-morph) loads only here: `check` and `count` start fast without it.
  const { build } = await import("./build.js");
  const outcome = await build({ inputs, out: values.out as string, options, host, write: io.writeFile ?? writeFileAtomic });
  if (outcome.usage) throw new UsageError(outcome.usage);
  const diagnostics = sortDiagnostics(outcome.diagnostics);
  report(io, diagnostics, new Map(outcome.sources));
  if (hasErrors(diagnostics)) {
    io.stderr(`${summary(diagnostics)}; nothing written\n`);
    return 1;
  }
  for (const file of outcome.written) io.stdout(`${file}\n`);
  return 0;
}

/** `--bake-weights FILE`: JSON (`{ "fc1.weight": [ … ], … }` by state_dict name, nested arrays allowed, or
 *  one flat array in manifest order). */
function readWeights(file: string, host: Host): Record<string, number[]> | number[] | string {
  const read = host.readFile(file);
  if (!read.ok) return read.reason;
  let data: unknown;
  try {
    data = JSON.parse(read.text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  const flat = (x: unknown): number[] | undefined => {
    if (typeof x === "number") return [x];
    if (!Array.isArray(x)) return undefined;
    const out: number[] = [];
    for (const item of x) {
      const f = flat(item);
      if (!f) return undefined;
      for (const v of f) out.push(v);
    }
    return out;
  };
  if (Array.isArray(data)) return flat(data) ?? "a top-level array must hold only numbers";
  if (data === null || typeof data !== "object") return "expected an object of tensors by name, or an array";
  const out: Record<string, number[]> = {};
  for (const [name, value] of Object.entries(data)) {
    const f = flat(value);
    if (!f) return `\`${name}\` is not an array of numbers`;
    out[name] = f;
  }
  return out;
}
