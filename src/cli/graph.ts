// `nnc graph <spec>`: the model as a graph — DOT (default), Mermaid, or SVG drawn by Graphviz compiled to
// WebAssembly (loaded only for SVG). Exit 0 with the graph on stdout, 1 when the spec has errors, 2 on a
// usage error.
import { summary } from "../diagnostics/render.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import { modelGraph, renderDot, renderMermaid } from "../count/graph.js";
import type { Host } from "../program/load.js";
import { UsageError, type Command, type Parsed } from "./args.js";
import { oneModel } from "../program/one-model.js";

/** Default depth: the model's own layers and, inside each block or repeat, its layers. */
export const defaultGraphDepth = 2;

export const graphCommand: Command = {
  name: "graph",
  synopsis: "<file> [--model NAME] [--format dot|mermaid|svg] [--depth N] [--root DIR]",
  summary: "the model as a graph: DOT, Mermaid or SVG",
  details: [
    "Nodes are layers (kind, output shape, parameters), blocks and repeats; edges carry values from the\nnode that makes them to each node that reads them: residuals and shortcuts (green), named values\n(labelled), concat and split, and ties (dashed, red: the second layer shares the first's weight).",
    `--depth N opens blocks and repeats down to N levels (default ${defaultGraphDepth}): deeper ones are one node, a\nrepeat with its count (×12). An open repeat is a box with one copy of its body and its count.\nSVG is laid out by Graphviz compiled to WebAssembly: no system binary is needed.`,
  ],
  flags: [
    { name: "model", value: "NAME", help: "the model to draw (required when the file has several)" },
    {
      name: "format",
      value: "FORMAT",
      choices: ["dot", "mermaid", "svg"],
      noun: "format",
      help: "dot, mermaid, svg (default dot)",
    },
    {
      name: "depth",
      value: "N",
      whole: true,
      help: `open blocks and repeats down to N levels (default ${defaultGraphDepth})`,
    },
    { name: "root", value: "DIR", help: "read only files inside DIR: an import outside it is an error (NN6006)" },
  ],
};

export interface SpecIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly host: Host;
  /** The spec: its name, and its text when it came from standard input. */
  readonly input: { readonly name: string; readonly text?: string };
  readonly report: (diagnostics: readonly Diagnostic[], sources: Map<string, SourceText>) => void;
}

function value(parsed: Parsed, flag: string): string | undefined {
  const v = parsed.values.get(flag);
  return typeof v === "string" ? v : undefined;
}

export async function runGraph(parsed: Parsed, io: SpecIo): Promise<number> {
  const depthText = value(parsed, "depth");
  const depth = depthText === undefined ? defaultGraphDepth : Number(BigInt(depthText.replace(/_/g, "")));
  if (depth < 1) throw new UsageError("--depth must be at least 1");
  const fmt = value(parsed, "format") ?? "dot";
  const loaded = oneModel(io.input.name, io.host, io.input.text, value(parsed, "model"), "draw");
  io.report(loaded.diagnostics, loaded.sources);
  if (!loaded.model) {
    io.stderr(`${summary(loaded.diagnostics)}\n`);
    return 1;
  }
  // Depths past any nesting change nothing: capped so that a huge N is no special case.
  const graph = modelGraph(loaded.model.analysis, Math.min(depth, 1_000_000));
  if (fmt === "mermaid") io.stdout(renderMermaid(graph));
  else if (fmt === "svg") {
    const { dotToSvg } = await import("../count/svg.js");
    io.stdout(await dotToSvg(renderDot(graph)));
  } else io.stdout(renderDot(graph));
  return 0;
}
