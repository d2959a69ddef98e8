// The model as a graph: the layer tree of the analysis (as the per-layer table folds it, to a depth) with
// the data flow between its nodes — each value from the node that makes it to every node that reads it,
// through residuals, named values, concat and split, shortcuts — plus ties as edges of their own. Built
// from the counting analysis, which never expands: a repeat is one node with its count (unfolded, one copy
// of its body in a box that says how many), and a reused block call or repeated element (a view, see
// analyze/shared.ts) is drawn from its first analysis with its value numbers mapped to its own.
//
// Rendered as Graphviz DOT and as Mermaid here; as SVG by svg.ts (Graphviz compiled to WebAssembly).
import type { LayerNode, ModelAnalysis } from "../analyze/analyze.js";
import { grouped } from "../diagnostics/numbers.js";
import { nodeFigures } from "./count.js";
import type { GraphEdge, GraphNode, ModelGraph } from "./graph-types.js";

export type { GraphEdge, GraphNode, ModelGraph } from "./graph-types.js";

/** How value numbers of the node being walked read in the graph: a key unique per value instance. */
type Keys = (id: number) => string;

interface Want {
  readonly key: string;
  readonly to: string;
  readonly kind: GraphEdge["kind"];
}

/**
 * The graph of a model down to `maxDepth` (1: the model's own layers, each folded; a node deeper than
 * that, or without children, is one node; a shallower one with children is a cluster around them).
 */
export function modelGraph(model: ModelAnalysis, maxDepth = 2): ModelGraph {
  const nodes: GraphNode[] = [];
  const producers = new Map<string, string>();
  const names = new Map<string, string>();
  const wants: Want[] = [];
  const top: Keys = (id) => String(id);

  const root = model.root;
  const rootFlow = root.flow ?? { inputs: [], outputs: [] };
  model.inputs.forEach((input, k) => {
    const id = `input:${input.name}`;
    nodes.push({ id, kind: "input", name: "", outputShape: input.shape, parameters: 0n, count: 1n, cluster: false });
    const v = rootFlow.inputs[k];
    if (v !== undefined) producers.set(top(v), id);
  });

  const visit = (n: LayerNode, depth: number, keys: Keys, parent: string | undefined) => {
    for (const [v, name] of n.names) names.set(keys(v), name);
    const ops = n.flowOps;
    let op = 0;
    const emitOps = (upTo: number) => {
      for (; op < ops.length && ops[op]!.after <= upTo; op++) {
        const o = ops[op]!;
        const id = `${n.name}@${o.kind}${op}`;
        nodes.push({
          id,
          kind: o.kind,
          name: "",
          outputShape: "",
          parameters: 0n,
          count: 1n,
          cluster: false,
          ...(parent !== undefined ? { parent } : {}),
        });
        o.inputs.forEach((v, i) =>
          wants.push({
            key: keys(v),
            to: id,
            kind: o.residual && i === 1 ? (o.residual === "identity" ? "residual" : "shortcut") : "data",
          }),
        );
        producers.set(keys(o.output), id);
      }
    };
    n.children.forEach((c, i) => {
      emitOps(i);
      const inner = keysFor(c, keys);
      const folded = c.children.length === 0 || depth >= maxDepth;
      nodes.push({
        id: c.name,
        kind: c.kind,
        name: c.name,
        outputShape: c.outputShape,
        parameters: nodeFigures(c).params,
        count: c.count,
        cluster: !folded,
        ...(parent !== undefined ? { parent } : {}),
      });
      if (folded) {
        for (const key of externalInputs(c, keys)) wants.push({ key, to: c.name, kind: "data" });
        for (const v of c.flow?.outputs ?? []) producers.set(inner(v), c.name);
      } else visit(c, depth + 1, inner, c.name);
    });
    emitOps(Infinity);
  };
  visit(root, 1, top, undefined);

  rootFlow.outputs.forEach((v, k) => {
    const id = rootFlow.outputs.length === 1 ? "output" : `output:${k}`;
    nodes.push({
      id,
      kind: "output",
      name: "",
      outputShape: model.values[v] ? `[${model.values[v].shape.join(", ")}]` : "",
      parameters: 0n,
      count: 1n,
      cluster: false,
    });
    wants.push({ key: top(v), to: id, kind: "data" });
  });

  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  const add = (e: GraphEdge) => {
    const key = `${e.from}\u0000${e.to}\u0000${e.kind}\u0000${e.value ?? ""}`;
    if (e.from === e.to || seen.has(key)) return;
    seen.add(key);
    edges.push(e);
  };
  for (const w of wants) {
    const from = producers.get(w.key);
    if (from === undefined) continue;
    const value = names.get(w.key);
    add({ from, to: w.to, kind: w.kind, ...(value !== undefined ? { value } : {}) });
  }

  // Ties: from the layer whose weight is shared to the one that shares it, each lifted to the node that
  // shows it at this depth.
  const shown = nodes.filter((n) => n.name !== "" && !n.cluster).map((n) => n.name);
  const lift = (layer: string) => {
    let best: string | undefined;
    for (const s of shown)
      if ((layer === s || layer.startsWith(`${s}.`)) && (best === undefined || s.length > best.length)) best = s;
    return best;
  };
  for (const t of model.ties) {
    const from = lift(layerOf(t.target));
    const to = lift(layerOf(t.tensor));
    if (from !== undefined && to !== undefined)
      add({ from, to, kind: "tie", ...(t.transposed ? { transposed: true } : {}) });
  }
  // Reuses (`share = path`): from the instance to each call that applies it again, lifted the same way.
  const shares = (n: LayerNode): void => {
    if (n.shares !== undefined) {
      const from = lift(n.shares);
      const to = lift(n.name);
      if (from !== undefined && to !== undefined) add({ from, to, kind: "share" });
    }
    n.children.forEach(shares);
  };
  shares(root);
  return { name: model.name, nodes, edges };
}

function layerOf(tensor: string): string {
  const dot = tensor.lastIndexOf(".");
  return dot === -1 ? tensor : tensor.slice(0, dot);
}

/** The keys of the values a folded node reads from outside it, in the order it reads them. `keys` is how
 *  the numbers of the body around it read. */
function externalInputs(n: LayerNode, keys: Keys): string[] {
  const consumed: string[] = [];
  const made = new Set<string>();
  const walk = (m: LayerNode, outer: Keys) => {
    const k = keysFor(m, outer);
    if (m.children.length === 0 && m.flowOps.length === 0) {
      for (const v of m.flow?.inputs ?? []) consumed.push(k(v));
      for (const v of m.flow?.outputs ?? []) made.add(k(v));
      return;
    }
    let op = 0;
    const ops = (upTo: number) => {
      for (; op < m.flowOps.length && m.flowOps[op]!.after <= upTo; op++) {
        for (const v of m.flowOps[op]!.inputs) consumed.push(k(v));
        made.add(k(m.flowOps[op]!.output));
      }
    };
    m.children.forEach((c, i) => {
      ops(i);
      walk(c, k);
    });
    ops(Infinity);
  };
  walk(n, keys);
  return [...new Set(consumed.filter((c) => !made.has(c)))];
}

/** How the numbers inside a node read: a reused unit's (its `flow` and everything in it, which keep its
 *  first analysis's numbers) as the numbers they stand for here when they cross its boundary, and as its
 *  own (made unique by its name) otherwise; any other node's as the numbers around it. */
function keysFor(n: LayerNode, outer: Keys): Keys {
  if (!n.reuse) return outer;
  const boundary = new Map<number, string>();
  for (const [first, here] of [...n.reuse.inputs, ...n.reuse.outputs]) boundary.set(first, outer(here));
  return (id) => boundary.get(id) ?? `${n.name}/${id}`;
}

// ── rendering ────────────────────────────────────────────────────────────────────────────────────────

/** A node's name inside its cluster: without the cluster's name in front. */
function parentName(n: GraphNode): string {
  return n.parent !== undefined && n.name.startsWith(`${n.parent}.`) ? n.name.slice(n.parent.length + 1) : n.name;
}

/** The ops of value arithmetic, drawn as small circles with their operator. */
const arithmetic: ReadonlyMap<string, string> = new Map([
  ["add", "+"],
  ["sub", "−"],
  ["mul", "×"],
]);

function label(n: GraphNode, name: string): string[] {
  if (n.kind === "input") return [n.id.slice("input:".length), n.outputShape];
  if (n.kind === "output") return ["output", n.outputShape];
  if (arithmetic.has(n.kind)) return [arithmetic.get(n.kind)!];
  const lines = [n.count === 1n ? name : `${name}  ×${grouped(n.count)}`, n.kind];
  if (!n.cluster) lines.push(n.outputShape);
  if (n.parameters > 0n) lines.push(`${grouped(n.parameters)} params${n.count === 1n ? "" : " each"}`);
  return lines;
}

/** A DOT string; lines joined with `\n` (centred). */
function dotString(...lines: string[]): string {
  // Control characters never reach the picture (a name cannot hold them; a file name is not drawn).
  const escape = (s: string) =>
    s
      .replace(/\\/g, "\\\\")
      .replace(/"/g, '\\"')
      .replace(/[\u0000-\u001f\u007f]/g, " ");
  return `"${lines.map(escape).join("\\n")}"`;
}

/** An HTML-like label: lines left-aligned. */
function htmlLines(lines: readonly string[]): string {
  const html = (s: string) =>
    s
      .replace(/[\u0000-\u001f\u007f]/g, " ")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;");
  return `<${lines.map(html).join('<BR ALIGN="LEFT"/>')}<BR ALIGN="LEFT"/>>`;
}

/** Graphviz DOT: deterministic text (the nodes in model order, then the edges). */
export function renderDot(g: ModelGraph): string {
  const out: string[] = [
    `digraph ${dotString(g.name)} {`,
    "  rankdir=TB;",
    `  graph [fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35, labeljust=l];`,
    `  node [shape=box, style="rounded,filled", fillcolor="#f4f6fa", color="#5b6b82", fontname="Helvetica", fontsize=10, margin="0.12,0.04"];`,
    `  edge [color="#5b6b82", fontname="Helvetica", fontsize=9, arrowsize=0.6];`,
  ];
  const children = new Map<string | undefined, GraphNode[]>();
  for (const n of g.nodes) {
    const list = children.get(n.parent) ?? [];
    list.push(n);
    children.set(n.parent, list);
  }
  const parents = new Map(g.nodes.map((n) => [n.id, n.parent]));
  const inside = (id: string, cluster: string): boolean => {
    for (let p = parents.get(id); p !== undefined; p = parents.get(p)) if (p === cluster) return true;
    return false;
  };
  /** The nodes directly in a cluster (a cluster inside by its text node) that no edge from elsewhere in it
   *  reaches. */
  const tops = (cluster: string): string[] =>
    (children.get(cluster) ?? [])
      .filter(
        (c) =>
          !g.edges.some(
            (e) =>
              e.kind !== "tie" &&
              inside(e.from, cluster) &&
              !inside(e.from, c.id) &&
              (e.to === c.id || inside(e.to, c.id)),
          ),
      )
      .map((c) => c.id);
  const write = (parent: string | undefined, indent: string) => {
    for (const n of children.get(parent) ?? []) {
      const text = dotString(...label(n, parentName(n)));
      if (n.cluster) {
        // The cluster's name, kind and parameters are a text node at its top (its id is the cluster's,
        // which no edge ends at), above every node inside that nothing inside leads to: edges route around
        // nodes, so none crosses the text (they would cross a cluster label).
        out.push(`${indent}subgraph ${dotString(`cluster_${n.id}`)} {`);
        out.push(`${indent}  style="rounded${n.count === 1n ? "" : ",bold"}"; color="#9aa7b8";`);
        out.push(
          `${indent}  ${dotString(n.id)} [label=${htmlLines(label(n, parentName(n)))}, shape=plaintext, style="", margin=0];`,
        );
        write(n.id, `${indent}  `);
        out.push(`${indent}}`);
        for (const top of tops(n.id)) out.push(`${indent}${dotString(n.id)} -> ${dotString(top)} [style=invis];`);
        continue;
      }
      const attrs = [`label=${text}`];
      if (n.kind === "input" || n.kind === "output") attrs.push(`shape=oval`, `fillcolor="#e3effc"`);
      else if (arithmetic.has(n.kind))
        attrs.push(`shape=circle`, `fixedsize=true`, `width=0.3`, `fillcolor="#fff7e0"`, `fontsize=12`);
      else if (n.count !== 1n) attrs.push(`peripheries=2`);
      out.push(`${indent}${dotString(n.id)} [${attrs.join(", ")}];`);
    }
  };
  write(undefined, "  ");
  for (const e of g.edges) {
    const attrs: string[] = [];
    if (e.kind === "tie" || e.kind === "share") {
      attrs.push(
        `style=dashed`,
        `color="#b04a4a"`,
        `fontcolor="#b04a4a"`,
        `constraint=false`,
        `label=${dotString(e.kind === "share" ? "share" : e.transposed ? "tie (transposed)" : "tie")}`,
      );
    } else {
      if (e.kind !== "data") attrs.push(`color="#2f7d4f"`, `fontcolor="#2f7d4f"`, `penwidth=1.3`);
      const text = [e.value, e.kind === "data" ? undefined : e.kind].filter((x) => x !== undefined).join(" · ");
      if (text !== "") attrs.push(`label=${dotString(` ${text}`)}`);
    }
    out.push(`  ${dotString(e.from)} -> ${dotString(e.to)}${attrs.length > 0 ? ` [${attrs.join(", ")}]` : ""};`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}

/** Mermaid `flowchart` (GitHub renders it in Markdown): ids `n0`, `n1`, … in model order. */
export function renderMermaid(g: ModelGraph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  // Mermaid labels: quotes and angle brackets as entities, lines joined with <br/>.
  const text = (s: string) =>
    s
      .replace(/[\u0000-\u001f\u007f]/g, " ")
      .replace(/&/g, "#amp;")
      .replace(/"/g, "#quot;")
      .replace(/</g, "#lt;")
      .replace(/>/g, "#gt;");
  const out = ["flowchart TB"];
  const children = new Map<string | undefined, GraphNode[]>();
  for (const n of g.nodes) {
    const list = children.get(n.parent) ?? [];
    list.push(n);
    children.set(n.parent, list);
  }
  const write = (parent: string | undefined, indent: string) => {
    for (const n of children.get(parent) ?? []) {
      const id = ids.get(n.id)!;
      const lines = label(n, parentName(n)).map(text).join("<br/>");
      if (n.cluster) {
        out.push(`${indent}subgraph ${id}["${lines}"]`);
        write(n.id, `${indent}  `);
        out.push(`${indent}end`);
      } else if (n.kind === "input" || n.kind === "output") out.push(`${indent}${id}(["${lines}"])`);
      else if (arithmetic.has(n.kind)) out.push(`${indent}${id}(("${lines}"))`);
      else if (n.count !== 1n) out.push(`${indent}${id}[["${lines}"]]`);
      else out.push(`${indent}${id}["${lines}"]`);
    }
  };
  write(undefined, "  ");
  for (const e of g.edges) {
    const from = ids.get(e.from)!;
    const to = ids.get(e.to)!;
    if (e.kind === "tie" || e.kind === "share") {
      out.push(`  ${from} -.->|"${e.kind === "share" ? "share" : e.transposed ? "tie (transposed)" : "tie"}"| ${to}`);
      continue;
    }
    const words = [e.value, e.kind === "data" ? undefined : e.kind].filter((x) => x !== undefined).join(" · ");
    const arrow = e.kind === "data" ? "-->" : "==>";
    out.push(`  ${from} ${arrow}${words === "" ? "" : `|"${text(words)}"|`} ${to}`);
  }
  return out.join("\n") + "\n";
}
