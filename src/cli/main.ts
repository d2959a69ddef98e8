// The `nnc` command line. Exit codes follow tsc: 0 clean, 1 diagnostics with errors (or a check that
// failed), 2 a usage error. Human-readable diagnostics go to stderr; stdout carries only the requested
// output (formatted source, JSON, the files built), so it stays machine-readable. Flags are declared per
// command below and read by args.ts; docs/cli.md is the reference for users.
import { capDiagnostics, diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { diagnosticToJson, escapeControls, renderDiagnostics, summary } from "../diagnostics/render.js";
import type { SourceText } from "../diagnostics/source.js";
import { grouped } from "../count/count.js";
import {
  countJson,
  renderCsv,
  renderMarkdown,
  renderText,
  stringifyExact,
  type CountedModel,
  type ReportOptions,
} from "../count/report.js";
import { columnNames, type Column } from "../count/columns.js";
import { format } from "../format/format.js";
import { version } from "../version.js";
import { checkProgram, type Checked } from "../program/check.js";
import { stdinName, type Host } from "../program/load.js";
import {
  confinedHost,
  directoryProblem,
  decodeUtf8,
  maxWeightsBytes,
  nodeHost,
  readAllBounded,
  readExisting,
  readTextFile,
  rewriteFile,
  WriteError,
  writeFilesAllOrNothing,
} from "../program/node-host.js";
import { commandHelp, parseCommandArgs, UsageError, type Command, type Parsed } from "./args.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { BuildOutcome, EmitKind } from "./build.js";
import type { NestedNumbers } from "../emit/compile.js";
import type { WatchDir } from "./watch.js";
import { runVerify, verifyCommand } from "./verify.js";
import { graphCommand, runGraph } from "./graph.js";
import { diffCommand, runDiff } from "./diff.js";
import { openWeightFile } from "../program/weight-file.js";
import { decodeFloats, isFloatDtype } from "../weights/safetensors.js";

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Reads all of standard input as bytes (only called for `-`); nnc decodes them as strict UTF-8.
   *  bin/nnc.js reads at most the spec size limit (`readStandardInput`); past it, an Error says why. */
  readStdin: () => Uint8Array;
  /** Whether stderr is a terminal (colour is used only then). */
  stderrIsTty: boolean;
  env: Record<string, string | undefined>;
  host?: Host;
  writeFile?: (file: string, text: string) => void;
  /** The current text of an output file (`nnc build` leaves a file alone when its text would not change);
   *  by default read from disk, or, when `writeFile` is given, none: everything is written. */
  readOutput?: (file: string) => string | undefined;
  /** Milliseconds from any fixed origin (`nnc build` progress lines); `performance.now` by default. */
  now?: () => number;
  /** `nnc build --watch`: a signal that ends watching (bin/nnc.js aborts it on Ctrl-C), and how a
   *  directory is watched (fs.watch by default). Without `interrupt`, watching never ends. */
  interrupt?: () => AbortSignal;
  watchDir?: WatchDir;
  /** `nnc lsp`: the streams the language server speaks JSON-RPC on (bin/nnc.js gives stdin and stdout).
   *  Without them, `nnc lsp` is a usage error. */
  lspStreams?: () => { input: NodeJS.ReadableStream; output: NodeJS.WritableStream };
}

export { version };

/** Reads standard input (bin/nnc.js): at most the spec size limit, so `nnc check - < /dev/zero` ends. */
export const readStandardInput = (): Uint8Array => readAllBounded(0);

const formatFlag = (choices: readonly string[]) =>
  ({
    name: "format",
    value: "FORMAT",
    choices,
    noun: "format",
    help: `${choices.join(", ")} (default ${choices[0]})`,
  }) as const;

const commands: readonly Command[] = [
  {
    name: "check",
    synopsis: "<files…> [--format text|json] [--root DIR]",
    summary: "check specs; exit 1 on any error",
    details: [
      "Checks each spec and everything it imports: syntax, names, shapes, options, `expect` assertions.\nDiagnostics go to stderr; with --format json, to stdout as one JSON object.",
    ],
    flags: [
      formatFlag(["text", "json"]),
      { name: "root", value: "DIR", help: "read only files inside DIR: an import outside it is an error (NN6006)" },
    ],
  },
  {
    name: "fmt",
    synopsis: "<files…> [--write | --check]",
    summary: "print specs in canonical form",
    details: ["Prints each spec in canonical form. A file that does not parse is never rewritten."],
    flags: [
      { name: "write", help: "rewrite the files in place (only those that change)" },
      { name: "check", help: "print nothing; exit 1 when a file is not in canonical form" },
    ],
  },
  {
    name: "count",
    synopsis:
      "<file> [--model NAME] [--depth N] [--columns LIST] [--format text|json|markdown|csv]\n[--batch N [--dtype float32|float64]] [--length L | --dim NAME=V …]\n[--max-params N] [--max-bytes N] [--root DIR]",
    summary: "exact parameter audit: a per-layer table and totals",
    details: [
      "Exit 1 when the spec has errors or a budget is exceeded; no figure is printed for a spec with errors.",
      `--batch N adds memory at that batch size, in exact bytes: activations kept for backward (per layer and in\ntotal), the inference peak and training with Adam, SGD with momentum and SGD — for the generated module\n(\`nnc build\`) and as PyTorch eager (fp32). --length and --dim set symbolic dimensions by name.\nColumns: ${columnNames.slice(0, 7).join(", ")},\n${columnNames.slice(7).join(", ")}.`,
    ],
    flags: [
      { name: "model", value: "NAME", help: "count only this model of the file" },
      {
        name: "depth",
        value: "N",
        whole: true,
        help: "rows for layers nested up to N deep (default 3; 0: totals only)",
      },
      { name: "columns", value: "LIST", help: "the table's columns, comma-separated, in order" },
      formatFlag(["text", "json", "markdown", "csv"]),
      { name: "batch", value: "N", whole: true, help: "memory at batch size N (activations, inference, training)" },
      {
        name: "dtype",
        value: "TYPE",
        choices: ["float32", "float64"],
        noun: "dtype",
        help: "the generated module's storage for --batch: float32 (default) or float64",
      },
      { name: "length", value: "L", whole: true, help: "the model's one symbolic dimension (sequence length)" },
      { name: "dim", value: "NAME=V", help: "a symbolic dimension by name; repeat for several" },
      { name: "max-params", value: "N", whole: true, help: "exit 1 when a model has more than N parameters" },
      {
        name: "max-bytes",
        value: "N",
        whole: true,
        help: "exit 1 when a model's fp32 parameters need more than N bytes",
      },
      { name: "root", value: "DIR", help: "read only files inside DIR: an import outside it is an error (NN6006)" },
    ],
  },
  {
    name: "build",
    synopsis:
      "<files…> [--out DIR] [--emit ts|js] [--watch] [--model NAME]\n[--dtype float32|float64] [--target auto|wasm|ts] [--unroll-limit N] [--tile N] [--bake-weights FILE [--prefix P]] [--root DIR]",
    summary: "one TypeScript or JavaScript module per model (forward, backward, training)",
    details: [
      "All or nothing: nothing is written when any input has an error or any output cannot be written. A file\nwhose content would not change is not rewritten. stdout lists the output files; stderr says how many\nwere written and how many were unchanged. `nnc build -` prints the one module on stdout instead.",
      "--watch rebuilds when a spec or one of its imports changes, printing diagnostics as they come, and\nkeeps the last good outputs while a spec is broken; Ctrl-C ends it. Watch builds are not formatted with\nprettier (much faster; the code is the same).",
    ],
    flags: [
      { name: "out", value: "DIR", help: "the output directory (default .)" },
      {
        name: "emit",
        value: "KIND",
        choices: ["ts", "js"],
        noun: "output kind",
        help: "ts: x.ts (default); js: x.js and its declarations x.d.ts",
      },
      { name: "watch", help: "rebuild on every change until Ctrl-C" },
      { name: "model", value: "NAME", help: "build only this model of each file" },
      {
        name: "dtype",
        value: "TYPE",
        choices: ["float32", "float64"],
        noun: "dtype",
        help: "float32 (default) or float64 storage",
      },
      {
        name: "target",
        value: "KIND",
        choices: ["auto", "wasm", "ts"],
        noun: "target",
        help: "dense layers on embedded WebAssembly SIMD kernels where the engine has SIMD (auto, default), always (wasm: no SIMD is an error at load) or never (ts)",
      },
      {
        name: "unroll-limit",
        value: "N",
        whole: true,
        help: "unroll dense layers up to N multiply–adds (default 256)",
      },
      { name: "tile", value: "N", whole: true, help: "output columns per register tile, 1–16 (default 8)" },
      {
        name: "bake-weights",
        value: "FILE",
        help: "an inference build with these weights baked in (.safetensors, or JSON by state_dict name)",
      },
      { name: "prefix", value: "P", help: "with --bake-weights FILE.safetensors: strip P from its names (`net.`)" },
      { name: "root", value: "DIR", help: "read only files inside DIR: an import outside it is an error (NN6006)" },
    ],
  },
  verifyCommand,
  graphCommand,
  diffCommand,
  {
    name: "lsp",
    synopsis: "[--stdio]",
    summary: "the language server for editors (JSON-RPC on stdin/stdout)",
    details: [
      "Speaks the Language Server Protocol on standard input and output until the client exits: diagnostics as\nyou type, hover (shapes, parameters, MACs, state_dict names), go to definition, references, completion,\nsignature help, formatting, rename, outline, semantic tokens. Logs go to stderr. See docs/cli.md.",
    ],
    flags: [{ name: "stdio", help: "use standard input and output (the default and only transport)" }],
  },
];

const usage = `nnc ${version} — a compiler for .nn model specs

usage: nnc <command> [flags] [files…]

commands:
${commands.map((c) => `  ${c.name.padEnd(6)}  ${c.summary}`).join("\n")}
  help    this text; \`nnc help <command>\` for a command's flags

Run \`nnc <command> --help\` for a command's flags. Use - as a file name to read standard input.
Exit codes: 0 clean, 1 errors found (or a check failed), 2 usage error.`;

const commandNames = [...commands.map((c) => c.name), "help"];

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
      case "verify": {
        const parsed = parse("verify", rest, io);
        if (parsed.positionals.length !== 1) throw new UsageError("verify takes one spec file", "run it once per spec");
        const [input] = inputsOf(parsed.positionals, io);
        return runVerify(parsed, {
          stdout: io.stdout,
          stderr: io.stderr,
          host: io.host ?? nodeHost,
          input: input!,
          report: (ds, sources) => report(io, ds, sources),
        });
      }
      case "graph": {
        const parsed = parse("graph", rest, io);
        if (parsed.positionals.length !== 1) throw new UsageError("graph takes one spec file", "run it once per spec");
        const [input] = inputsOf(parsed.positionals, io);
        return await runGraph(parsed, {
          stdout: io.stdout,
          stderr: io.stderr,
          host: hostOf(parsed, io),
          input: input!,
          report: (ds, sources) => report(io, ds, sources),
        });
      }
      case "diff": {
        const parsed = parse("diff", rest, io);
        return runDiff(parsed, {
          stdout: io.stdout,
          stderr: io.stderr,
          host: hostOf(parsed, io),
          stdinText: () => readStdinText(io),
          stdinName,
          report: (ds, sources) => report(io, ds, sources),
        });
      }
      case "lsp":
        return await runLsp(rest, io);
      case "help":
      case "--help":
      case "-h": {
        const topic = command === "help" ? rest[0] : undefined;
        if (topic === undefined || topic === "help") {
          io.stdout(usage + "\n");
          return 0;
        }
        io.stdout(commandHelp(commandNamed(topic), version));
        return 0;
      }
      case "--version":
      case "-v":
        io.stdout(version + "\n");
        return 0;
      case undefined:
        io.stderr(usage + "\n");
        return 2;
      default:
        commandNamed(command);
        return 2;
    }
  } catch (error) {
    if (error instanceof HelpShown) return 0;
    if (error instanceof UsageError) return usageError(io, error.message, error.help);
    if (error instanceof InputError) {
      report(io, [error.diagnostic], new Map());
      io.stderr(`${summary([error.diagnostic])}\n`);
      return 1;
    }
    throw error;
  }
}

/** The command called `name`, or a usage error with a "did you mean". */
function commandNamed(name: string): Command {
  const found = commands.find((c) => c.name === name);
  if (found) return found;
  if (name.startsWith("-")) {
    const suggestion = didYouMean(name.replace(/^-+/, ""), ["help", "version"]);
    throw new UsageError(
      `unknown flag \`${name}\``,
      suggestion ? `did you mean \`--${suggestion}\`?` : "run `nnc help` for the list of commands",
    );
  }
  const suggestion = didYouMean(name, commandNames);
  throw new UsageError(
    `unknown command \`${name}\``,
    suggestion ? `did you mean \`${suggestion}\`?` : "run `nnc help` for the list of commands",
  );
}

/** Standard input that cannot be read or is not valid UTF-8: reported like an unreadable file (exit 1). */
class InputError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

function usageError(io: Io, message: string, help?: string): number {
  const d = diagnostic("UsageError", undefined, ["usage", { problem: message }], { help });
  io.stderr(renderDiagnostics([d], () => undefined, { color: useColor(io) }));
  return 2;
}

/** A sentinel thrown when `--help` was given: the help is printed and the command exits 0. */
class HelpShown extends Error {}

/** Reads a command's arguments; `--help` prints its help (stdout) and ends the command with exit 0. */
function parse(name: string, args: readonly string[], io: Io): Parsed {
  const command = commandNamed(name);
  const parsed = parseCommandArgs(command, args);
  if (parsed.help) {
    io.stdout(commandHelp(command, version));
    throw new HelpShown();
  }
  return parsed;
}

/** The host reading specs: the Io's or the file system, confined to `--root DIR` when given. */
function hostOf(parsed: Parsed, io: Io): Host {
  const host = io.host ?? nodeHost;
  const root = text(parsed, "root");
  if (root === undefined) return host;
  if (!io.host) {
    const problem = directoryProblem(root);
    if (problem !== undefined) throw new UsageError(`\`--root ${root}\`: ${problem}`, "name an existing directory");
  }
  return confinedHost(host, root);
}

/** A flag's value as text (`undefined` when absent or a switch). */
function text(parsed: Parsed, flag: string): string | undefined {
  const v = parsed.values.get(flag);
  return typeof v === "string" ? v : undefined;
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
  if (positionals.length === 0)
    throw new UsageError("no input files", "name one or more .nn files, or - for standard input");
  return positionals.map((p) => (p === "-" ? { name: stdinName, text: readStdinText(io) } : { name: p }));
}

function readStdinText(io: Io): string {
  let bytes: Uint8Array;
  try {
    bytes = io.readStdin();
  } catch (error) {
    throw new InputError(
      diagnostic("FileNotReadable", undefined, ["read", { file: "standard input", reason: (error as Error).message }]),
    );
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) {
    throw new InputError(
      diagnostic("InvalidUtf8", undefined, ["read", { file: "standard input", reason: decoded.reason }], {
        help: "save the spec as UTF-8",
      }),
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
  const parsed = parse("check", args, io);
  const { positionals } = parsed;
  const fmt = text(parsed, "format") ?? "text";
  const host = hostOf(parsed, io);
  const all: Diagnostic[] = [];
  const sources = new Map<string, SourceText>();
  const files: { file: string; errors: number; warnings: number }[] = [];
  let inputs: Input[];
  try {
    inputs = inputsOf(positionals, io);
  } catch (error) {
    if (!(error instanceof InputError) || fmt !== "json") throw error;
    // Even unreadable standard input is reported in the JSON, so stdout stays machine-readable.
    const json = {
      files: [{ file: stdinName, errors: 1, warnings: 0 }],
      diagnostics: [diagnosticToJson(error.diagnostic)],
    };
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
  const parsed = parse("fmt", args, io);
  const { positionals } = parsed;
  const values = { write: parsed.values.has("write"), check: parsed.values.has("check") };
  if (values.write && values.check) throw new UsageError("--write and --check exclude each other");
  const inputs = inputsOf(positionals, io);
  if (values.write && inputs.some((i) => i.name === stdinName)) {
    throw new UsageError("--write cannot rewrite standard input", "leave out --write to print the result");
  }
  const host = io.host ?? nodeHost;
  const write = io.writeFile ?? rewriteFile;
  let failed = false;
  for (const input of inputs) {
    let text = input.text;
    if (text === undefined) {
      const read = host.readFile(input.name);
      if (!read.ok) {
        const name = read.invalidUtf8 ? "InvalidUtf8" : "FileNotReadable";
        report(io, [diagnostic(name, undefined, ["read", { file: input.name, reason: read.reason }])], new Map());
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
          [
            diagnostic(
              "NotCanonical",
              undefined,
              { file: input.name },
              {
                help: `run \`nnc fmt --write ${input.name}\``,
              },
            ),
          ],
          new Map(),
        );
        failed = true;
      }
    } else if (values.write) {
      if (formatted.value !== text) {
        try {
          write(input.name, formatted.value);
        } catch (error) {
          const help =
            error instanceof WriteError && error.readOnly
              ? `make it writable (\`chmod u+w ${input.name}\`) for \`nnc fmt --write\` to rewrite it, or leave out --write`
              : undefined;
          report(
            io,
            [
              diagnostic("WriteFailed", undefined, ["write", { file: input.name, reason: (error as Error).message }], {
                help,
              }),
            ],
            new Map(),
          );
          failed = true;
        }
      }
    } else {
      io.stdout(formatted.value);
    }
  }
  return failed ? 1 : 0;
}

/** A whole-number flag's value (the parser has checked its digits). */
function wholeNumber(parsed: Parsed, flag: string): bigint | undefined {
  const value = text(parsed, flag);
  return value === undefined ? undefined : BigInt(value.replace(/_/g, ""));
}

function runCount(args: readonly string[], io: Io): number {
  const parsed = parse("count", args, io);
  const { positionals } = parsed;
  const fmt = text(parsed, "format") ?? "text";
  const depthValue = wholeNumber(parsed, "depth");
  // torchinfo's depth 0: totals only. Deeper than any spec nests: every row.
  const depth = depthValue === undefined ? 3 : depthValue > 1000n ? 1000 : Number(depthValue);
  const batch = wholeNumber(parsed, "batch");
  if (batch === 0n)
    throw new UsageError("`--batch` must be at least 1", "give the number of samples, e.g. `--batch 8`");
  const dtype = (text(parsed, "dtype") ?? "float32") as "float32" | "float64";
  if (text(parsed, "dtype") !== undefined && batch === undefined)
    throw new UsageError("`--dtype` applies to the memory figures of `--batch`", "add `--batch N`");
  const columns = columnsOf(text(parsed, "columns"), batch !== undefined);
  const dims = dimsOf(parsed);
  const maxParams = wholeNumber(parsed, "max-params");
  const maxBytes = wholeNumber(parsed, "max-bytes");
  if (positionals.length !== 1) throw new UsageError("count takes one file", "run it once per file");
  const [input] = inputsOf(positionals, io);
  const model = text(parsed, "model");
  const host = hostOf(parsed, io);
  let checked = checkProgram(input!.name, host, input!.text, model !== undefined ? { model } : {});
  const dimValues =
    dims.size > 0 || dims.length !== undefined ? symbolicDims(checked.value, input!.name, model) : undefined;
  if (dimValues !== undefined && !hasErrors(checked.diagnostics)) {
    const set = resolveDims(dims, dimValues);
    checked = checkProgram(input!.name, host, input!.text, { ...(model !== undefined ? { model } : {}), dims: set });
    dims.resolved = set;
  }
  const sources = new Map([...checked.value.program.files].map(([f, l]) => [f, l.source]));
  const diagnostics = sortDiagnostics(checked.diagnostics);
  if (hasErrors(diagnostics)) {
    // Never a number printed for a spec with errors.
    report(io, diagnostics, sources);
    io.stderr(`${summary(diagnostics)}\n`);
    return 1;
  }
  report(io, diagnostics, sources);
  const models: CountedModel[] = checked.value.models.map((m) => ({
    file: input!.name,
    analysis: m.analysis,
    figures: m.figures,
  }));
  if (models.length === 0) {
    report(
      io,
      [
        diagnostic("NoSuchModel", undefined, ["none", { file: input!.name, command: "count" }], {
          help: "a file with only blocks is imported, not counted",
        }),
      ],
      sources,
    );
    return 1;
  }
  const options: ReportOptions = {
    ...(columns ? { columns } : {}),
    ...(batch !== undefined ? { memory: { batch, dtype } } : {}),
    ...(dims.resolved ? { dims: dims.resolved } : {}),
  };
  if (fmt === "json") io.stdout(stringifyExact(countJson(models, depth, options)) + "\n");
  else if (fmt === "markdown") io.stdout(renderMarkdown(models, depth, options));
  else if (fmt === "csv") io.stdout(renderCsv(models, depth, options));
  else io.stdout(renderText(models, depth, options));
  const over: Diagnostic[] = [];
  for (const m of models) {
    if (maxParams !== undefined && m.figures.params > maxParams) {
      over.push(
        diagnostic("BudgetExceeded", undefined, [
          "params",
          { model: m.analysis.name, params: grouped(m.figures.params), budget: grouped(maxParams) },
        ]),
      );
    }
    if (maxBytes !== undefined && m.figures.bytes.fp32 > maxBytes) {
      over.push(
        diagnostic("BudgetExceeded", undefined, [
          "bytes",
          { model: m.analysis.name, bytes: grouped(m.figures.bytes.fp32), budget: grouped(maxBytes) },
        ]),
      );
    }
  }
  report(io, over, sources);
  return over.length > 0 ? 1 : 0;
}

/** `--columns a,b,c`: known names, each once; `activations` only with `--batch`. */
function columnsOf(list: string | undefined, withBatch: boolean): Column[] | undefined {
  if (list === undefined) return undefined;
  const names = list.split(",").map((c) => c.trim());
  const columns: Column[] = [];
  for (const name of names) {
    if (!(columnNames as readonly string[]).includes(name)) {
      const suggestion = didYouMean(name, columnNames);
      throw new UsageError(
        `unknown column \`${name}\``,
        suggestion !== undefined ? `did you mean \`${suggestion}\`?` : `the columns: ${columnNames.join(", ")}`,
      );
    }
    if (columns.includes(name as Column)) throw new UsageError(`column \`${name}\` is given twice`);
    columns.push(name as Column);
  }
  if (columns.includes("activations") && !withBatch)
    throw new UsageError("the `activations` column needs a batch size", "add `--batch N`");
  return columns;
}

interface DimFlags extends Map<string, bigint> {
  length?: bigint;
  resolved?: ReadonlyMap<string, bigint>;
}

/** `--length L` and `--dim NAME=V` (repeated, or comma-separated): whole numbers of at least 1. */
function dimsOf(parsed: Parsed): DimFlags {
  const dims: DimFlags = new Map();
  const length = wholeNumber(parsed, "length");
  if (length === 0n) throw new UsageError("`--length` must be at least 1");
  for (const item of (parsed.all.get("dim") ?? []).flatMap((d) => d.split(","))) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([0-9][0-9_]*)\s*$/.exec(item);
    if (!m) throw new UsageError(`\`--dim ${item}\` is not NAME=V`, "write e.g. `--dim seq=128`");
    const value = BigInt(m[2]!.replace(/_/g, ""));
    if (value === 0n) throw new UsageError(`\`--dim ${item}\`: a dimension must be at least 1`);
    if (dims.has(m[1]!)) throw new UsageError(`\`${m[1]}\` is given twice with --dim`);
    dims.set(m[1]!, value);
  }
  if (length !== undefined && dims.size > 0)
    throw new UsageError(
      "give `--length` or `--dim`, not both",
      "`--length L` is `--dim NAME=L` for the one symbolic dimension",
    );
  if (length !== undefined) dims.length = length;
  return dims;
}

/** The symbolic dimensions the counted models declare, by name. */
function symbolicDims(checked: Checked, entry: string, model: string | undefined): Set<string> {
  const names = new Set<string>();
  for (const m of checked.resolved.get(entry)?.models.values() ?? []) {
    if (model !== undefined && m.name !== model) continue;
    for (const i of m.inputs) for (const d of i.dims) if (d.kind === "symbol") names.add(d.name);
  }
  return names;
}

/** The dimensions to set: `--length` is the one symbolic dimension; every `--dim` name must exist. */
function resolveDims(dims: DimFlags, known: ReadonlySet<string>): Map<string, bigint> {
  const listed = [...known].map((k) => `\`${k}\``).join(", ");
  if (dims.length !== undefined) {
    if (known.size !== 1)
      throw new UsageError(
        known.size === 0
          ? "`--length` needs a symbolic dimension, and the model declares none"
          : `\`--length\` is ambiguous: the model declares ${listed}`,
        known.size === 0 ? "its input sizes are fixed in the spec" : "set each by name with `--dim NAME=V`",
      );
    return new Map([[[...known][0]!, dims.length]]);
  }
  for (const name of dims.keys()) {
    if (known.has(name)) continue;
    const suggestion = didYouMean(name, known);
    throw new UsageError(
      `unknown dimension \`${name}\``,
      suggestion !== undefined
        ? `did you mean \`${suggestion}\`?`
        : known.size === 0
          ? "the model declares no symbolic dimension"
          : `the model's symbolic dimensions: ${listed}`,
    );
  }
  return new Map(dims);
}

/** `nnc lsp`: the language server, loaded only here (vscode-languageserver stays out of every other
 *  command's start-up). Runs until the client ends the session (the server library then exits the process). */
async function runLsp(args: readonly string[], io: Io): Promise<number> {
  const parsed = parse("lsp", args, io);
  if (parsed.positionals.length > 0)
    throw new UsageError("`nnc lsp` takes no files", "the editor opens the files it checks");
  if (!io.lspStreams) throw new UsageError("`nnc lsp` needs standard input and output");
  const { input, output } = io.lspStreams();
  const { startServer } = await import("../lsp/server.js");
  const connection = startServer({ input, output, host: io.host ?? nodeHost, log: (line) => io.stderr(line + "\n") });
  return new Promise<number>((resolve) => connection.onExit(() => resolve(0)));
}

async function runBuild(args: readonly string[], io: Io): Promise<number> {
  const parsed = parse("build", args, io);
  const inputs = inputsOf(parsed.positionals, io);
  const watching = parsed.values.has("watch");
  const fromStdin = inputs.some((i) => i.name === stdinName);
  if (watching && fromStdin) {
    throw new UsageError("--watch cannot watch standard input", "name the spec files");
  }
  // `nnc build -` prints its one module on stdout (as esbuild does for standard input without an
  // --outfile): there is no file name to name an output after.
  if (fromStdin) {
    if (inputs.length > 1)
      throw new UsageError(
        "`nnc build -` takes no other input: standard input is built to stdout",
        "build the files in another run",
      );
    if (text(parsed, "out") !== undefined)
      throw new UsageError(
        "`nnc build -` prints the module on stdout; --out does not apply",
        "redirect stdout to a file, or name the spec file instead of -",
      );
    if (text(parsed, "emit") === "js")
      throw new UsageError(
        "`nnc build -` prints one module; --emit js makes two files (x.js and x.d.ts)",
        "name the spec file instead of -",
      );
  }
  const host = hostOf(parsed, io);
  const options: Record<string, unknown> = {};
  const model = text(parsed, "model");
  if (model !== undefined) options["model"] = model;
  const dtype = text(parsed, "dtype");
  if (dtype !== undefined) options["dtype"] = dtype;
  const target = text(parsed, "target");
  if (target !== undefined) options["target"] = target;
  const unroll = wholeNumber(parsed, "unroll-limit");
  if (unroll !== undefined) options["unrollLimit"] = Number(unroll);
  const tile = wholeNumber(parsed, "tile");
  if (tile !== undefined) options["tileColumns"] = Number(tile);
  // Watch builds skip prettier: 1 s or more per model, against ~50 ms for the rest of a small build.
  if (watching) options["format"] = false;
  const bakeFile = text(parsed, "bake-weights");
  const prefix = text(parsed, "prefix");
  if (prefix !== undefined && (bakeFile === undefined || !bakeFile.endsWith(".safetensors")))
    throw new UsageError("--prefix goes with --bake-weights FILE.safetensors");
  if (bakeFile !== undefined) {
    const weights = bakeFile.endsWith(".safetensors")
      ? readSafetensorsWeights(bakeFile, prefix ?? "")
      : readWeights(bakeFile, io.host ?? { readFile: (f) => readTextFile(f, maxWeightsBytes) });
    if (typeof weights === "string") {
      report(
        io,
        [diagnostic("FileNotReadable", undefined, ["bakeWeights", { file: bakeFile, reason: weights }])],
        new Map(),
      );
      return 1;
    }
    options["bakeWeights"] = weights;
  }
  const out = text(parsed, "out") ?? ".";
  const emit = (text(parsed, "emit") ?? "ts") as EmitKind;
  // The code generator (prettier, ts-morph, zod) loads only here: `check` and `count` start fast without it.
  const { build } = await import("./build.js");
  const writeFile = io.writeFile;
  const writeAll = writeFile
    ? (files: readonly { file: string; text: string }[]) => files.forEach((f) => writeFile(f.file, f.text))
    : writeFilesAllOrNothing;
  const existing = io.readOutput ?? (io.writeFile ? () => undefined : readExisting);
  const now = io.now ?? (() => performance.now());
  const once = async (h: Host): Promise<BuildOutcome> => {
    const progress = new Progress(io, now);
    return build({
      inputs,
      out,
      options,
      host: h,
      writeAll,
      existing,
      emit,
      toStdout: fromStdin,
      onModel: (input, m) => progress.model(input, m),
    });
  };

  if (!watching) {
    const outcome = await once(host);
    if (outcome.usage) throw new UsageError(outcome.usage);
    if (outcome.printed !== undefined) {
      report(io, sortDiagnostics(outcome.diagnostics), new Map(outcome.sources));
      io.stdout(outcome.printed);
      return 0;
    }
    return reportBuild(io, outcome) ? 0 : 1;
  }

  const { watch } = await import("./watch.js");
  const stop = new AbortController();
  const interrupt = io.interrupt?.();
  interrupt?.addEventListener("abort", () => stop.abort());
  if (interrupt?.aborted) stop.abort();
  let first = true;
  let exit = 0;
  await watch({
    signal: stop.signal,
    ...(io.watchDir ? { watchDir: io.watchDir } : {}),
    build: async () => {
      // Every file the build reads or tries to read (a missing import) is watched.
      const read = new Set(inputs.map((i) => i.name));
      const outcome = await once({ readFile: (f) => (read.add(f), host.readFile(f)) });
      if (outcome.usage !== undefined) {
        usageError(io, outcome.usage);
        // The options are wrong and will stay wrong: give up at once. Later (two models now writing one
        // file), the user can fix the spec: keep watching.
        if (first) {
          exit = 2;
          stop.abort();
        }
      } else {
        reportBuild(io, outcome);
      }
      first = false;
      io.stderr(`watching ${read.size === 1 ? "1 file" : `${read.size} files`} for changes; Ctrl-C to stop\n`);
      return [...read];
    },
  });
  return exit;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Reports one build: diagnostics, the output files (stdout), what was written (stderr). False on errors. */
function reportBuild(io: Io, outcome: BuildOutcome): boolean {
  const diagnostics = sortDiagnostics(outcome.diagnostics);
  report(io, diagnostics, new Map(outcome.sources));
  if (hasErrors(diagnostics)) {
    io.stderr(`${summary(diagnostics)}; nothing written\n`);
    return false;
  }
  for (const o of outcome.outputs) io.stdout(`${o.file}\n`);
  const written = outcome.outputs.filter((o) => o.written).length;
  io.stderr(`${plural(written, "file")} written, ${outcome.outputs.length - written} unchanged\n`);
  return true;
}

/** Progress of a build on stderr: one line per model with its time, only on a terminal and only once the
 *  build has taken more than a second (the lines of models finished before then are printed at that
 *  point); a faster build, or one whose stderr is a pipe, prints none. */
class Progress {
  private readonly start: number;
  private last: number;
  private readonly held: string[] = [];

  constructor(
    private readonly io: Io,
    private readonly now: () => number,
  ) {
    this.start = now();
    this.last = this.start;
  }

  model(input: string, model: string): void {
    if (!this.io.stderrIsTty) return;
    const t = this.now();
    const line = `  built ${model} (${escapeControls(input)}) in ${seconds(t - this.last)}\n`;
    this.last = t;
    if (t - this.start <= 1000) {
      this.held.push(line);
      return;
    }
    for (const held of this.held.splice(0)) this.io.stderr(held);
    this.io.stderr(line);
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** `--bake-weights FILE.safetensors`: every tensor by name (after `prefix`, which names without it keep, to be
 *  reported as unknown), its values as numbers — floats converted exactly (F16, BF16, F32, F64), integers
 *  (BatchNorm's `num_batches_tracked`, int64) as they are; the code generator checks names and shapes. The
 *  file is checked as hostile (src/weights/safetensors.ts) and read a tensor at a time, at most
 *  maxWeightsBytes in all. */
function readSafetensorsWeights(file: string, prefix: string): Record<string, number[]> | string {
  const opened = openWeightFile(file);
  if (!opened.ok)
    return opened.unreadable ?? `not a valid safetensors file: ${opened.problem?.message ?? "unreadable"}`;
  const { header, readBytes, close } = opened.file;
  try {
    if (header.fileLength > maxWeightsBytes)
      return `the file has ${header.fileLength} bytes, over the limit of ${maxWeightsBytes} for --bake-weights`;
    const out: Record<string, number[]> = Object.create(null) as Record<string, number[]>;
    for (const e of header.entries) {
      const bytes = readBytes(header.dataStart + e.begin, header.dataStart + e.end);
      if (bytes === undefined) return "reading failed";
      const name = e.name.startsWith(prefix) ? e.name.slice(prefix.length) : e.name;
      if (Object.prototype.hasOwnProperty.call(out, name))
        return `two tensors are \`${name}\` once the prefix \`${prefix}\` is stripped`;
      if (isFloatDtype(e.dtype)) {
        out[name] = Array.from(decodeFloats(e.dtype, bytes, "float64"));
        continue;
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const integers: Partial<Record<string, [number, (at: number) => number]>> = {
        I64: [8, (at) => Number(view.getBigInt64(at, true))],
        I32: [4, (at) => view.getInt32(at, true)],
        U8: [1, (at) => view.getUint8(at)],
      };
      const reader = name.endsWith(".num_batches_tracked") ? integers[e.dtype] : undefined;
      if (reader === undefined)
        return `tensor \`${e.name}\` is ${e.dtype}, not a float (F32, F64, F16, BF16; a BatchNorm counter may be I64, I32 or U8)`;
      out[name] = Array.from({ length: bytes.length / reader[0] }, (_, i) => reader[1](i * reader[0]));
    }
    return out;
  } finally {
    close();
  }
}

/** `--bake-weights FILE`: JSON (`{ "fc1.weight": [ … ], … }` by state_dict name, each tensor flat or nested
 *  to its shape — the code generator checks the shape, so a ragged nesting is refused there, not flattened
 *  here — or one flat array in manifest order). */
function readWeights(file: string, host: Host): Record<string, NestedNumbers[]> | number[] | string {
  const read = host.readFile(file);
  if (!read.ok) return read.reason;
  let data: unknown;
  try {
    data = JSON.parse(read.text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  // Tensors have a few axes: nesting deeper than 32 is refused here, before any recursion could run deep.
  const numbers = (x: unknown, depth = 0): boolean =>
    typeof x === "number" || (depth < 32 && Array.isArray(x) && x.every((v) => numbers(v, depth + 1)));
  if (Array.isArray(data))
    return data.every((x) => typeof x === "number") ? (data as number[]) : "a top-level array must hold only numbers";
  if (data === null || typeof data !== "object") return "expected an object of tensors by name, or an array";
  const out: Record<string, NestedNumbers[]> = {};
  for (const [name, value] of Object.entries(data)) {
    if (!Array.isArray(value) || !numbers(value))
      return `\`${name}\` is not an array of numbers (nested at most 32 deep)`;
    out[name] = value as NestedNumbers[];
  }
  return out;
}
