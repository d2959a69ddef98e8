// SVG of a model graph: its DOT laid out and drawn by Graphviz compiled to WebAssembly (@viz-js/viz; no
// system binary). Loaded only when SVG is asked for (`nnc graph --format svg`): the module and its
// WebAssembly instance (~35 ms to start) stay out of every other command.
import type { Viz } from "@viz-js/viz";

let viz: Promise<Viz> | undefined;

/** Renders DOT text as SVG. The same text gives the same bytes (Graphviz's layout is deterministic). */
export async function dotToSvg(dot: string): Promise<string> {
  viz ??= import("@viz-js/viz").then((m) => m.instance());
  const result = (await viz).render(dot, { format: "svg", engine: "dot" });
  if (result.status !== "success" || result.output === undefined) {
    // The DOT is ours (renderDot), never the user's: a failure here is a bug in nnc.
    throw new Error(`internal: Graphviz could not render the graph: ${result.errors.map((e) => e.message).join("; ")}`);
  }
  return result.output;
}
