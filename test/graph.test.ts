// `nnc graph`: the structure of the graph (nodes, edges: data flow, residuals, shortcuts, named values,
// concat and split, ties, folded repeats, reused units) and its renderings — DOT, Mermaid, and SVG for every
// model of every example.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { modelGraph, renderDot, renderMermaid, type ModelGraph } from "../src/count/graph.js";
import { dotToSvg } from "../src/count/svg.js";
import { countReportSchema } from "../src/count/schema.js";
import { checkProgram } from "../src/program/check.js";
import { nodeHost } from "../src/program/node-host.js";
import { count, graph, renderGraph, renderGraphSvg } from "../src/index.js";
import { main } from "../src/cli/main.js";
import { capture } from "./helpers/cli.js";

function graphOf(file: string, depth: number, text?: string, model?: string): ModelGraph {
  const checked = checkProgram(file, nodeHost, text, model !== undefined ? { model } : {});
  expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return modelGraph(checked.value.models[0]!.analysis, depth);
}

const edges = (g: ModelGraph, kind?: string) =>
  g.edges.filter((e) => kind === undefined || e.kind === kind).map((e) => `${e.from} -> ${e.to}`);

function nnFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? nnFiles(path.join(dir, e.name)) : e.name.endsWith(".nn") ? [path.join(dir, e.name)] : [],
    )
    .filter((f) => !f.includes(`${path.sep}lib${path.sep}`))
    .sort();
}

describe("graph structure", () => {
  it("resnet18: one add per BasicBlock, identity skips where torchvision has no downsample, shortcuts where it has", () => {
    // torchvision resnet18: layers [2, 2, 2, 2] of BasicBlock; the first block of layer2..layer4 has a
    // `downsample` (1×1 conv + BN) on its skip path, every other block an identity skip. layer1's two
    // blocks are one folded repeat here (`repeat 2 as layer1`), so 7 adds are drawn at depth 3.
    const g = graphOf("examples/resnet18.nn", 3);
    expect(g.nodes.filter((n) => n.kind === "add").map((n) => n.id)).toEqual([
      "layer1.{0..1}@add0",
      "layer2.0@add0",
      "layer2.1@add0",
      "layer3.0@add0",
      "layer3.1@add0",
      "layer4.0@add0",
      "layer4.1@add0",
    ]);
    expect(edges(g, "residual")).toEqual([
      "maxpool -> layer1.{0..1}@add0",
      "layer2.0.6 -> layer2.1@add0",
      "layer3.0.6 -> layer3.1@add0",
      "layer4.0.6 -> layer4.1@add0",
    ]);
    expect(edges(g, "shortcut")).toEqual([
      "layer2.0.downsample -> layer2.0@add0",
      "layer3.0.downsample -> layer3.0@add0",
      "layer4.0.downsample -> layer4.0@add0",
    ]);
    // The downsample reads the block's input, as the first convolution does.
    expect(edges(g)).toContain("layer1.{0..1}.5 -> layer2.0.downsample");
    expect(edges(g)).toContain("layer1.{0..1}.5 -> layer2.0.conv1");
    // The stem is a chain from the input; the head ends at the output.
    expect(edges(g).slice(0, 4)).toEqual(["input:image -> conv1", "conv1 -> bn1", "bn1 -> 2", "2 -> maxpool"]);
    expect(edges(g)).toContain("fc -> output");
    // Parameters per node are the table's: fc 512·1000 + 1000.
    expect(g.nodes.find((n) => n.id === "fc")?.parameters).toBe(513_000n);
  });

  it("every node is connected: something reaches it and it reaches something (all examples, depths 1–4)", () => {
    for (const file of nnFiles("examples")) {
      const checked = checkProgram(file, nodeHost);
      for (const m of checked.value.models) {
        for (const depth of [1, 2, 3, 4]) {
          const g = modelGraph(m.analysis, depth);
          const ids = new Set(g.nodes.map((n) => n.id));
          const flow = g.edges.filter((e) => e.kind !== "tie");
          const into = new Set(flow.map((e) => e.to));
          const from = new Set(flow.map((e) => e.from));
          const where = `${file} ${m.analysis.name} depth ${depth}`;
          expect(ids.size, where).toBe(g.nodes.length);
          for (const e of g.edges) expect(ids.has(e.from) && ids.has(e.to), where).toBe(true);
          for (const n of g.nodes.filter((x) => !x.cluster)) {
            if (n.kind !== "input") expect(into.has(n.id), `${where}: nothing reaches ${n.id}`).toBe(true);
            if (n.kind !== "output") expect(from.has(n.id), `${where}: ${n.id} reaches nothing`).toBe(true);
          }
        }
      }
    }
  });

  it("a tie is an edge of its own, dashed in DOT and Mermaid, and not data flow", () => {
    const g = graphOf("examples/tiny-gpt.nn", 2);
    expect(g.edges.filter((e) => e.kind === "tie")).toEqual([{ from: "wte", to: "lm_head", kind: "tie" }]);
    expect(renderDot(g)).toContain(`"wte" -> "lm_head" [style=dashed`);
    const mermaid = renderMermaid(g);
    const id = (name: string) => `n${g.nodes.findIndex((n) => n.id === name)}`;
    expect(mermaid).toContain(`${id("wte")} -.->|"tie"| ${id("lm_head")}`);
    // A transposed tie says so.
    const t = graphOf(
      "t.nn",
      1,
      "model T(x: f32[8]) {\n  dense(4, bias = false) as enc\n  dense(8, bias = false, tie = transpose(enc)) as dec\n}\n",
    );
    expect(t.edges.filter((e) => e.kind === "tie")).toEqual([
      { from: "enc", to: "dec", kind: "tie", transposed: true },
    ]);
    expect(renderDot(t)).toContain(`label="tie (transposed)"`);
  });

  it("a reuse (`share = path`) is a dashed edge from the instance to the call that applies it again", () => {
    const g = graphOf(
      "s.nn",
      1,
      `block Enc(d) {
  dense(d) as fc
  relu
}

model Siamese(a: f32[6], b: f32[6]) {
  ea = a -> Enc(6) as encoder
  eb = b -> Enc(6, share = encoder)
  ea + eb -> dense(2) as head
}
`,
    );
    const reuse = g.nodes.find((n) => n.kind === "Enc" && n.id !== "encoder")!;
    expect(reuse).toBeDefined();
    expect(g.edges.filter((e) => e.kind === "share")).toEqual([{ from: "encoder", to: reuse.id, kind: "share" }]);
    expect(renderDot(g)).toContain(`"encoder" -> "${reuse.id}" [style=dashed`);
    expect(renderDot(g)).toContain(`label="share"`);
    const id = (name: string) => `n${g.nodes.findIndex((n) => n.id === name)}`;
    expect(renderMermaid(g)).toContain(`${id("encoder")} -.->|"share"| ${id(reuse.id)}`);
    // ALBERT's shape: one layer applied again in a repeat; folded, the repeat node applies it.
    const albert = graphOf(
      "albert.nn",
      1,
      "model A(x: f32[4]) {\n  dense(4) as layer\n  repeat 3 {\n    dense(4, share = layer)\n  }\n}\n",
    );
    expect(albert.edges.filter((e) => e.kind === "share").map((e) => e.from)).toEqual(["layer"]);
  });

  it("a repeat folds to one node with its count, and opens (one copy in a box with the count) with --depth", () => {
    const folded = graphOf("examples/tiny-gpt.nn", 1);
    const h = folded.nodes.find((n) => n.id === "h.{0..1}")!;
    expect(h).toMatchObject({ kind: "Layer", count: 2n, cluster: false, parameters: 12_704n });
    expect(edges(folded)).toEqual([
      "input:tokens -> wte",
      "wte -> wpe",
      "wpe -> h.{0..1}",
      "h.{0..1} -> ln_f",
      "ln_f -> lm_head",
      "lm_head -> output",
      "wte -> lm_head",
    ]);
    expect(renderDot(folded)).toContain(
      `"h.{0..1}" [label="h.{0..1}  ×2\\nLayer\\n[16, 32]\\n12,704 params each", peripheries=2];`,
    );
    const open = graphOf("examples/tiny-gpt.nn", 2);
    expect(open.nodes.find((n) => n.id === "h.{0..1}")).toMatchObject({ cluster: true, count: 2n });
    expect(open.nodes.filter((n) => n.parent === "h.{0..1}").map((n) => n.id)).toEqual([
      "h.{0..1}.ln_1",
      "h.{0..1}.attn",
      "h.{0..1}@add0",
      "h.{0..1}.ln_2",
      "h.{0..1}.c_fc",
      "h.{0..1}.4",
      "h.{0..1}.c_proj",
      "h.{0..1}@add1",
    ]);
    expect(renderDot(open)).toContain(`subgraph "cluster_h.{0..1}" {`);
  });

  const spec = [
    "block B(n) {",
    "  residual { dense(n) }",
    "}",
    "block Two(n) {",
    "  B(n) as p",
    "  B(n) as q",
    "}",
    "model M(x: f32[4]) {",
    "  Two(4) as a",
    "  Two(4) as b",
    "  h = dense(4)",
    "  left, right = h -> split(2)",
    "  y = [left, right, x] -> concat",
    "  y -> dense(2)",
    "}",
    "",
  ].join("\n");

  it("reused block calls (views of the first analysis) are wired to their own inputs and outputs", () => {
    // `b` and `a.q`, `b.p`, `b.q` reuse the analysis of `a.p` (same block, arguments and input shape).
    const g = graphOf("m.nn", 3, spec);
    expect(edges(g).slice(0, 12)).toEqual([
      "input:x -> a.p.0",
      "a.p.0 -> a.p@add0",
      "input:x -> a.p@add0",
      "a.p@add0 -> a.q.0",
      "a.q.0 -> a.q@add0",
      "a.p@add0 -> a.q@add0",
      "a.q@add0 -> b.p.0",
      "b.p.0 -> b.p@add0",
      "a.q@add0 -> b.p@add0",
      "b.p@add0 -> b.q.0",
      "b.q.0 -> b.q@add0",
      "b.p@add0 -> b.q@add0",
    ]);
    // Folded, each call is one node between its neighbours.
    expect(edges(graphOf("m.nn", 1, spec)).slice(0, 3)).toEqual(["input:x -> a", "a -> b", "b -> 2"]);
  });

  it("named values label their edges; split gives several, concat reads several (the model's input too)", () => {
    const g = graphOf("m.nn", 1, spec);
    expect(g.edges.slice(2)).toEqual([
      { from: "b", to: "2", kind: "data" },
      { from: "2", to: "3", kind: "data", value: "h" },
      { from: "3", to: "4", kind: "data", value: "left" },
      { from: "3", to: "4", kind: "data", value: "right" },
      { from: "input:x", to: "4", kind: "data" },
      { from: "4", to: "5", kind: "data", value: "y" },
      { from: "5", to: "output", kind: "data" },
    ]);
    expect(renderDot(g)).toContain(`"3" -> "4" [label=" left"];`);
  });

  it("`a + b` and `a * b` are nodes of their own", () => {
    const g = graphOf(
      "g.nn",
      1,
      "model G(x: f32[8]) {\n  a = dense(8)\n  b = x -> dense(8)\n  (a + b) * x -> dense(2)\n}\n",
    );
    expect(g.nodes.filter((n) => n.kind === "add" || n.kind === "mul").map((n) => n.id)).toEqual(["@add0", "@mul1"]);
    expect(edges(g)).toEqual([
      "input:x -> 0",
      "input:x -> 1",
      "0 -> @add0",
      "1 -> @add0",
      "@add0 -> @mul1",
      "input:x -> @mul1",
      "@mul1 -> 2",
      "2 -> output",
    ]);
  });
});

describe("graph rendering", () => {
  it("renders every model of every example as SVG, deterministically (each node drawn)", async () => {
    let drawn = 0;
    for (const file of nnFiles("examples")) {
      const checked = checkProgram(file, nodeHost);
      for (const m of checked.value.models) {
        const g = modelGraph(m.analysis, 2);
        const dot = renderDot(g);
        const svg = await dotToSvg(dot);
        expect(svg, file).toMatch(/^<\?xml[^]*<svg [^]*<\/svg>\s*$/);
        // Graphviz titles each node with its id (XML-escaped).
        for (const n of g.nodes.filter((x) => !x.cluster)) {
          const title = n.id.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
          expect(svg, `${file}: ${n.id}`).toContain(`<title>${title}</title>`);
        }
        expect(await dotToSvg(dot)).toBe(svg);
        drawn++;
      }
    }
    expect(drawn).toBeGreaterThanOrEqual(16);
  });

  it("the public API draws as nnc graph does", async () => {
    const result = graph("examples/mnist-mlp.nn");
    expect(result.ok).toBe(true);
    const g = result.graphs![0]!;
    const c = capture();
    expect(await main(["graph", "examples/mnist-mlp.nn"], c.io)).toBe(0);
    expect(renderGraph(g)).toBe(c.out());
    const m = capture();
    expect(await main(["graph", "examples/mnist-mlp.nn", "--format", "mermaid"], m.io)).toBe(0);
    expect(renderGraph(g, "mermaid")).toBe(m.out());
    const s = capture();
    expect(await main(["graph", "examples/mnist-mlp.nn", "--format", "svg"], s.io)).toBe(0);
    expect(await renderGraphSvg(g)).toBe(s.out());
    expect(graph("nope.nn").ok).toBe(false);
  });

  it("nnc count --format json carries the graph at its depth, valid against the schema", async () => {
    const c = capture();
    expect(await main(["count", "examples/resnet18.nn", "--format", "json", "--depth", "2"], c.io)).toBe(0);
    const json = countReportSchema.parse(JSON.parse(c.out()));
    const report = count("examples/resnet18.nn", { depth: 2 }).report!;
    const g = graphOf("examples/resnet18.nn", 2);
    expect(json.models[0]!.graph.edges).toEqual(g.edges);
    expect(report.models[0]!.graph.nodes).toEqual(g.nodes);
  });
});

describe("nnc graph (command line)", () => {
  it("usage and input mistakes", async () => {
    const run = async (...args: string[]) => {
      const c = capture();
      const code = await main(["graph", ...args], c.io);
      return { code, out: c.out(), err: c.err() };
    };
    expect((await run("examples/xor.nn", "--depth", "0")).code).toBe(2);
    expect((await run("examples/xor.nn", "--format", "png")).err).toContain("unknown format `png`");
    expect((await run()).code).toBe(2);
    expect((await run("examples/xor.nn", "examples/gpt2.nn")).code).toBe(2);
    const missing = await run("nope.nn");
    expect([missing.code, missing.out]).toEqual([1, ""]);
    expect(missing.err).toContain("NN0002");
    const several = await run("examples/lstm-classifier.nn");
    expect(several.code).toBe(1);
    expect(several.err).toContain("defines 3 models");
    const unknown = await run("examples/lstm-classifier.nn", "--model", "Nope");
    expect(unknown.err).toContain("NN0010");
    expect((await run("examples/lstm-classifier.nn", "--model", "LstmLayer")).code).toBe(0);
    const help = await run("--help");
    expect(help.out).toContain("usage: nnc graph <file>");
  });
});
