// `nnc lsp` through a real client: one server process (`node bin/nnc.js lsp --stdio`, the built CLI) and
// JSON-RPC over its stdio, as VS Code speaks it (test/helpers/lsp-client.ts). Every feature is checked on
// the examples and their imports (examples/lib/*.nn), edits that break and repair a file, a library edit
// that breaks and repairs the files importing it, and hostile input replayed through the server.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  CompletionItem,
  DocumentSymbol,
  Hover,
  Location,
  SignatureHelp,
  TextEdit,
  WorkspaceEdit,
} from "vscode-languageserver/node.js";
import { format } from "../src/format/format.js";
import { startLsp, type LspClient } from "./helpers/lsp-client.js";

const uriOf = (file: string) => pathToFileURL(path.resolve(file)).href;
const read = (file: string) => fs.readFileSync(file, "utf8");

/** The position of the `nth` occurrence of `needle` in `text`, `delta` characters in. */
function pos(text: string, needle: string, delta = 0, nth = 0): { line: number; character: number } {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`${needle} not found`);
  }
  const before = text.slice(0, at + delta);
  const line = before.split("\n").length - 1;
  return { line, character: before.length - before.lastIndexOf("\n") - 1 };
}

const gpt2 = "examples/gpt2.nn";
const transformer = "examples/lib/transformer.nn";
const mnist = "examples/mnist-mlp.nn";

let client: LspClient;
let dir: string;

beforeAll(async () => {
  client = await startLsp();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-lsp-"));
}, 20_000);

afterAll(async () => {
  const code = await client.stop();
  expect(code).toBe(0);
  fs.rmSync(dir, { recursive: true, force: true });
});

const clean = (p: { diagnostics: unknown[] }) => p.diagnostics.length === 0;

describe("nnc lsp", () => {
  it("checks every example on open: no diagnostics", async () => {
    const files = fs
      .readdirSync("examples")
      .filter((f) => f.endsWith(".nn"))
      .map((f) => path.join("examples", f));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) client.open(uriOf(f), read(f));
    for (const f of files) expect((await client.diagnostics(uriOf(f), () => true)).diagnostics, f).toEqual([]);
    client.open(uriOf(transformer), read(transformer));
    expect((await client.diagnostics(uriOf(transformer), () => true)).diagnostics).toEqual([]);
  }, 30_000);

  it("hover on a layer call: output shape, parameters by role, MACs, state_dict names", async () => {
    const text = read(mnist);
    const h = await client.request<Hover>("textDocument/hover", {
      textDocument: { uri: uriOf(mnist) },
      position: pos(text, "dense(128)", 1),
    });
    const md = (h.contents as { value: string }).value;
    // 784·128 + 128 = 100,480 parameters (784·128 weights, 128 biases); 784·128 = 100,352 MACs; PyTorch's
    // Linear stores weight as [out_features, in_features]; the layer is `1` in the nn.Sequential (the file says).
    expect(md).toContain("output `[128]`");
    expect(md).toContain("parameters: 100,480 (matrix 100,352 · bias 128)");
    expect(md).toContain("MACs: 100,352");
    expect(md).toContain("| `1.weight` | [128, 784] | matrix |");
    expect(md).toContain("| `1.bias` | [128] | bias |");
    expect(md).toContain("a fully connected layer");
  });

  it("hover on a block call and on a layer inside an imported block body: the first instance and how many", async () => {
    const text = read(gpt2);
    const h = await client.request<Hover>("textDocument/hover", {
      textDocument: { uri: uriOf(gpt2) },
      position: pos(text, "Mlp(d) as mlp", 1),
    });
    const md = (h.contents as { value: string }).value;
    // One MLP: 768·3072 + 3072 + 3072·768 + 768 = 4,722,432 (GPT-2 small, d = 768); one per layer, 12 layers.
    expect(md).toContain("block Mlp(d, hidden = 4 * d)");
    expect(md).toContain("parameters: 4,722,432");
    expect(md).toContain("12 instances");
    expect(md).toMatch(/mlp\.c_fc\.weight` \| \[768, 3072\]/); // HF Conv1D: [in, out]
    // The library file itself: its `dense(hidden, layout = in_out) as c_fc` is made 12 times by gpt2.nn (open).
    const lib = read(transformer);
    const h2 = await client.request<Hover>("textDocument/hover", {
      textDocument: { uri: uriOf(transformer) },
      position: pos(lib, "dense(hidden, layout = in_out) as c_fc", 2),
    });
    const md2 = (h2.contents as { value: string }).value;
    expect(md2).toContain("parameters: 2,362,368 (matrix 2,359,296 · bias 3,072)"); // 768·3072 + 3072
    expect(md2).toContain("12 instances");
    expect(md2).toContain("c_fc.bias` | [3072] | bias");
  });

  it("hover on a model name: the nnc count totals", async () => {
    const text = read(gpt2);
    const h = await client.request<Hover>("textDocument/hover", {
      textDocument: { uri: uriOf(gpt2) },
      position: pos(text, "model Gpt2", 7),
    });
    const md = (h.contents as { value: string }).value;
    // The file's own `expect` lines (HF GPT2LMHeadModel, tie counted once).
    expect(md).toContain("| parameters | 124,439,808 |");
    expect(md).toContain("| weights | 124,337,664 |");
    expect(md).toContain("| biases | 102,144 |");
    expect(md).toContain("| ties counted twice | 163,037,184 |");
  });

  it("go to definition: blocks across files, constants, values, import paths", async () => {
    const text = read(gpt2);
    const lib = read(transformer);
    const def = (p: { line: number; character: number }, uri = uriOf(gpt2)) =>
      client.request<Location | null>("textDocument/definition", { textDocument: { uri }, position: p });
    const mlp = await def(pos(text, "Mlp(d) as mlp", 1));
    expect(mlp).toEqual({ uri: uriOf(transformer), range: { start: pos(lib, "Mlp(d,"), end: pos(lib, "Mlp(d,", 3) } });
    const layers = await def(pos(text, "repeat n_layer", 8));
    expect(layers?.range.start).toEqual(pos(text, "n_layer = 12"));
    const imp = await def(pos(text, '"./lib/transformer.nn"', 3));
    expect(imp?.uri).toBe(uriOf(transformer));
    // A value name in the library: `gate * up` → the binding `up = …`.
    const up = await def(pos(lib, "gate * up", 7), uriOf(transformer));
    expect(up?.range.start).toEqual(pos(lib, "up = x"));
    // A block parameter used in the block body.
    const hidden = await def(pos(lib, "dense(hidden, layout = in_out) as c_fc", 7), uriOf(transformer));
    expect(hidden?.range.start).toEqual(pos(lib, "hidden = 4 * d"));
    // Nothing to define: a number, a layer kind, a position past the end.
    expect(await def(pos(text, "768\n", 1))).toBeNull();
    expect(await def({ line: 10_000, character: 0 })).toBeNull();
  });

  it("go to definition and references: a `share` path leads to the instance it applies again", async () => {
    const uri = uriOf(path.join(dir, "share.nn"));
    const text = [
      "block Enc {",
      "  dense(8) as fc",
      "  relu",
      "  dense(8, share = fc)",
      "}",
      "",
      "model M(a: f32[8], b: f32[8]) {",
      "  ea = a -> Enc as encoder",
      "  eb = b -> Enc(share = encoder)",
      "  ea + eb",
      "}",
      "",
    ].join("\n");
    client.open(uri, text);
    const def = (p: { line: number; character: number }) =>
      client.request<Location | null>("textDocument/definition", { textDocument: { uri }, position: p });
    expect((await def(pos(text, "share = encoder", 10)))?.range.start).toEqual(pos(text, "encoder\n", 0));
    expect((await def(pos(text, "share = fc", 9)))?.range.start).toEqual(pos(text, "fc\n", 0));
    const refs = await client.request<Location[]>("textDocument/references", {
      textDocument: { uri },
      position: pos(text, "encoder\n", 1),
      context: { includeDeclaration: false },
    });
    expect(refs.map((r) => r.range.start)).toEqual([pos(text, "share = encoder", 8)]);
    // Hover on the reuse: no parameters of its own, and the instance it applies.
    const h = await client.request<Hover>("textDocument/hover", {
      textDocument: { uri },
      position: pos(text, "Enc(share", 1),
    });
    const md = (h.contents as { value: string }).value;
    expect(md).toContain("parameters: 0");
    expect(md).toContain("applies `encoder` again");
    client.close(uri);
  });

  it("go to definition: a `share` path into an instance leads through the block to the layer it names", async () => {
    const uri = uriOf(path.join(dir, "share-path.nn"));
    // The model comes first: the block is indexed after the use of its `fc`.
    const text = [
      "model M(a: f32[8], b: f32[8]) {",
      "  ea = a -> Enc as encoder",
      "  eb = b -> dense(8, share = encoder.fc)",
      "  ea + eb",
      "}",
      "",
      "block Enc {",
      "  dense(8) as fc",
      "  relu",
      "}",
      "",
    ].join("\n");
    client.open(uri, text);
    const def = (p: { line: number; character: number }) =>
      client.request<Location | null>("textDocument/definition", { textDocument: { uri }, position: p });
    expect((await def(pos(text, "share = encoder.fc", 9)))?.range.start).toEqual(pos(text, "encoder\n", 0));
    expect((await def(pos(text, "share = encoder.fc", 17)))?.range.start).toEqual(pos(text, "fc\n", 0));
    const refs = await client.request<Location[]>("textDocument/references", {
      textDocument: { uri },
      position: pos(text, "fc\n", 1),
      context: { includeDeclaration: false },
    });
    expect(refs.map((r) => r.range.start)).toEqual([pos(text, "share = encoder.fc", 16)]);
    client.close(uri);
  });

  it("find references: a constant in its file, a block across files (import included)", async () => {
    const text = read(gpt2);
    const refs = await client.request<Location[]>("textDocument/references", {
      textDocument: { uri: uriOf(gpt2) },
      position: pos(text, "const d", 6),
      context: { includeDeclaration: true },
    });
    // `d` is defined once and used in embedding(vocab, d), positional(ctx, d), Gpt2Block(d, …): 4 occurrences
    // (the `d` inside `block Gpt2Block(d, heads)` is the block's own parameter).
    expect(refs.map((r) => r.range.start).sort((a, b) => a.line - b.line)).toEqual([
      pos(text, "const d", 6),
      pos(text, "vocab, d)", 7),
      pos(text, "ctx, d)", 5),
      pos(text, "Gpt2Block(d", 10, 1),
    ]);
    const mlp = await client.request<Location[]>("textDocument/references", {
      textDocument: { uri: uriOf(transformer) },
      position: pos(read(transformer), "Mlp(d,"),
      context: { includeDeclaration: true },
    });
    expect(mlp.map((r) => `${path.basename(r.uri)}:${r.range.start.line}`).sort()).toEqual(
      [
        `gpt2.nn:${pos(text, "Mlp }").line}`,
        `gpt2.nn:${pos(text, "Mlp(d) as").line}`,
        `transformer.nn:${pos(read(transformer), "Mlp(d,").line}`,
      ].sort(),
    );
  });

  it("completion: layer kinds, blocks and values; options with types and defaults; enum values; losses", async () => {
    const uri = uriOf(path.join(dir, "complete.nn"));
    const base = "block B(w) {\n  dense(w)\n}\nmodel M(x: f32[8]) {\n  h = x -> dense(4)\n  \n}\n";
    client.open(uri, base);
    await client.diagnostics(uri, () => true);
    const at = async (text: string, p: { line: number; character: number }) => {
      client.change(uri, text, Date.now());
      return client.request<CompletionItem[]>("textDocument/completion", { textDocument: { uri }, position: p });
    };
    const labels = (items: CompletionItem[]) => items.map((i) => i.label);
    const top = await at(base, pos(base, "  \n}", 2));
    expect(labels(top)).toEqual(expect.arrayContaining(["dense", "conv2d", "layernorm", "B", "h", "x"]));
    const typed = base.replace("  \n}", "  conv2d(8, \n}");
    const opts = await at(typed, pos(typed, "conv2d(8, ", 10));
    const stride = opts.find((i) => i.label === "stride");
    expect(stride?.detail).toMatch(/= 1$/);
    expect(labels(opts)).toEqual(expect.arrayContaining(["kernel", "stride", "padding", "bias", "frozen", "tie"]));
    expect(labels(opts)).not.toContain("out"); // given positionally
    const gelu = base.replace("  \n}", "  gelu(approximate = \n}");
    expect(labels(await at(gelu, pos(gelu, "= \n", 2)))).toEqual(["none", "tanh"]);
    const loss = base.replace("  \n}", "  loss \n}");
    expect(labels(await at(loss, pos(loss, "loss ", 5)))).toEqual(["mse", "cross_entropy", "binary_cross_entropy"]);
    const block = base.replace("  \n}", "  B(\n}");
    const blockLabels = labels(await at(block, pos(block, "B(\n", 2)));
    expect(blockLabels).toEqual(expect.arrayContaining(["w", "frozen", "share"]));
    // `tie` on a block call is refused (NN5005), so it is not offered.
    expect(blockLabels).not.toContain("tie");
    client.close(uri);
  });

  it("signature help inside a call: the active parameter, positional and named", async () => {
    const uri = uriOf(path.join(dir, "signature.nn"));
    const text = "model M(x: f32[3, 8, 8]) {\n  conv2d(16, 3, padding = \n}\n";
    client.open(uri, text);
    const at = (delta: number) =>
      client.request<SignatureHelp | null>("textDocument/signatureHelp", {
        textDocument: { uri },
        position: pos(text, "conv2d(", delta),
      });
    const first = await at(7);
    expect(first?.signatures[0]?.label).toMatch(/^conv2d\(out, kernel, stride = 1, padding = 0/);
    expect(first?.activeParameter).toBe(0);
    expect((await at(11))?.activeParameter).toBe(1);
    const named = await at(24);
    expect(first?.signatures[0]?.parameters?.[named!.activeParameter!]?.label).toBe("padding = 0");
    expect(
      await client.request("textDocument/signatureHelp", {
        textDocument: { uri },
        position: { line: 0, character: 0 },
      }),
    ).toBeNull();
    client.close(uri);
  });

  it("formatting is nnc fmt; a file with syntax errors gets no edits", async () => {
    const uri = uriOf(path.join(dir, "fmt.nn"));
    const messy = "model M(x:f32[4]){\n dense( 4 )   relu\n    dense(2)}\n";
    client.open(uri, messy);
    const edits = await client.request<TextEdit[]>("textDocument/formatting", {
      textDocument: { uri },
      options: { tabSize: 2, insertSpaces: true },
    });
    expect(edits).toHaveLength(1);
    expect(edits[0]!.newText).toBe(format(messy, "fmt.nn").value);
    expect(edits[0]!.newText).not.toBe(messy);
    client.change(uri, "model M(x: f32[4]) {\n  dense(4\n}\n", 2);
    expect(
      await client.request("textDocument/formatting", {
        textDocument: { uri },
        options: { tabSize: 2, insertSpaces: true },
      }),
    ).toEqual([]);
    client.close(uri);
  });

  it("rename a block across files, a constant and a value; prepareRename refuses a layer kind", async () => {
    const text = read(gpt2);
    const lib = read(transformer);
    const rename = (uri: string, p: { line: number; character: number }, newName: string) =>
      client.request<WorkspaceEdit>("textDocument/rename", { textDocument: { uri }, position: p, newName });
    const edit = await rename(uriOf(gpt2), pos(text, "Mlp(d) as mlp", 1), "FeedForward");
    const lines = (uri: string) => (edit.changes?.[uri] ?? []).map((e) => [e.range.start.line, e.newText]).sort();
    expect(lines(uriOf(gpt2))).toEqual(
      [
        [pos(text, "Mlp }").line, "FeedForward"],
        [pos(text, "Mlp(d) as").line, "FeedForward"],
      ].sort(),
    );
    expect(lines(uriOf(transformer))).toEqual([[pos(lib, "Mlp(d,").line, "FeedForward"]]);
    const c = await rename(uriOf(gpt2), pos(text, "n_layer as h"), "layers");
    expect(c.changes?.[uriOf(gpt2)]).toHaveLength(2);
    const v = await rename(uriOf(transformer), pos(lib, "gate * up"), "g");
    expect(v.changes?.[uriOf(transformer)]?.map((e) => e.range.start)).toEqual(
      expect.arrayContaining([pos(lib, "gate = x"), pos(lib, "gate * up")]),
    );
    const prep = await client.request<{ placeholder: string } | null>("textDocument/prepareRename", {
      textDocument: { uri: uriOf(gpt2) },
      position: pos(text, "Mlp(d) as"),
    });
    expect(prep?.placeholder).toBe("Mlp");
    expect(
      await client.request("textDocument/prepareRename", {
        textDocument: { uri: uriOf(gpt2) },
        position: pos(text, "layernorm as ln_1", 2),
      }),
    ).toBeNull();
    await expect(rename(uriOf(gpt2), pos(text, "Mlp(d) as"), "dense")).rejects.toThrow(/layer kind/);
    await expect(rename(uriOf(gpt2), pos(text, "Mlp(d) as"), "2x")).rejects.toThrow(/not a name/);
  });

  it("document symbols: models, blocks, constants and named layers", async () => {
    const symbols = await client.request<DocumentSymbol[]>("textDocument/documentSymbol", {
      textDocument: { uri: uriOf(gpt2) },
    });
    expect(symbols.map((s) => s.name)).toEqual([
      "vocab",
      "ctx",
      "d",
      "n_layer",
      "n_head",
      "Gpt2Block",
      "Gpt2Model",
      "Gpt2",
    ]);
    const model = symbols.find((s) => s.name === "Gpt2")!;
    expect(model.children?.map((c) => c.name)).toEqual(["tokens", "transformer", "lm_head"]);
    const inner = symbols.find((s) => s.name === "Gpt2Model")!;
    expect(inner.children?.map((c) => c.name)).toEqual(["wte", "wpe", "h", "ln_f"]);
    const block = symbols.find((s) => s.name === "Gpt2Block")!;
    expect(block.children?.map((c) => c.name)).toEqual(["d", "heads", "ln_1", "attn", "ln_2", "mlp"]);
  });

  it("semantic tokens: layer kinds, blocks, constants, values, options, keywords", async () => {
    const text = read(gpt2);
    const r = await client.request<{ data: number[] }>("textDocument/semanticTokens/full", {
      textDocument: { uri: uriOf(gpt2) },
    });
    expect(r.data.length % 5).toBe(0);
    const legend = [
      "keyword",
      "type",
      "function",
      "class",
      "variable",
      "parameter",
      "property",
      "number",
      "string",
      "comment",
      "operator",
      "enumMember",
    ];
    const decoded = new Map<string, string>();
    let line = 0;
    let ch = 0;
    const lines = text.split("\n");
    for (let i = 0; i < r.data.length; i += 5) {
      const [dl, dc, len, type] = r.data.slice(i, i + 4) as [number, number, number, number];
      line += dl;
      ch = dl === 0 ? ch + dc : dc;
      decoded.set(`${line}:${ch}`, `${lines[line]!.slice(ch, ch + len)}=${legend[type]}`);
    }
    const at = (needle: string, delta = 0) => {
      const p = pos(text, needle, delta);
      return decoded.get(`${p.line}:${p.character}`);
    };
    expect(at("Mlp(d) as")).toBe("Mlp=class");
    expect(at("layernorm as ln_1")).toBe("layernorm=function");
    expect(at("repeat n_layer", 7)).toBe("n_layer=variable");
    expect(at("causal = true")).toBe("causal=property");
    expect(at("model Gpt2")).toBe("model=keyword");
    expect(at("# gpt2.nn")).toMatch(/=comment$/);
    expect(at("Gpt2Block(d, heads)", 10)).toBe("d=parameter");
  });

  it("value arithmetic that broadcasts, `-` and `abs`: clean, tokens and hover", async () => {
    const file = path.join(dir, "se.nn");
    const text = `model M(x: f32[8, 4, 4]) {
  h = x -> conv2d(8, 1)
  gate = h -> adaptive_avg_pool2d([1, 1]) -> conv2d(8, 1) -> sigmoid
  d = h * gate - h
  d -> abs -> flatten -> dense(2)
}
`;
    client.open(uriOf(file), text);
    expect((await client.diagnostics(uriOf(file), () => true)).diagnostics).toEqual([]);
    const r = await client.request<{ data: number[] }>("textDocument/semanticTokens/full", {
      textDocument: { uri: uriOf(file) },
    });
    const types = ["keyword", "type", "function", "class", "variable", "parameter", "property", "number"];
    const decoded = new Map<string, string>();
    let line = 0;
    let ch = 0;
    for (let i = 0; i < r.data.length; i += 5) {
      const [dl, dc, len, type] = r.data.slice(i, i + 4) as [number, number, number, number];
      line += dl;
      ch = dl === 0 ? ch + dc : dc;
      decoded.set(`${line}:${ch}`, `${text.split("\n")[line]!.slice(ch, ch + len)}=${types[type] ?? type}`);
    }
    const at = (needle: string, delta = 0) => {
      const p = pos(text, needle, delta);
      return decoded.get(`${p.line}:${p.character}`);
    };
    expect(at("h * gate", 4)).toBe("gate=variable");
    expect(at("gate - h", 5)).toBe("-=10"); // the legend's operator
    expect(at("abs ->")).toBe("abs=function");
    // Hover on `abs`: its output (the broadcast result's shape) and its documentation.
    const h = await client.request<Hover>("textDocument/hover", {
      textDocument: { uri: uriOf(file) },
      position: pos(text, "abs ->", 1),
    });
    const md = (h.contents as { value: string }).value;
    expect(md).toContain("output `[8, 4, 4]`");
    expect(md).toContain("the absolute value");
  });

  it("a repeat's index: clean, go to definition, hover, semantic token, rename", async () => {
    const file = path.join(dir, "index.nn");
    const text = `model M(x: f32[4]) {
  repeat 3 as "layer_{i}" from 1 with i {
    dense(8 * i)
  }
}
`;
    const uri = uriOf(file);
    client.open(uri, text);
    expect((await client.diagnostics(uri, () => true)).diagnostics).toEqual([]);
    const use = pos(text, "8 * i", 4);
    const def = await client.request<Location | null>("textDocument/definition", {
      textDocument: { uri },
      position: use,
    });
    expect(def?.range.start).toEqual(pos(text, "with i", 5));
    const h = await client.request<Hover>("textDocument/hover", { textDocument: { uri }, position: use });
    expect((h.contents as { value: string }).value).toContain("repeat index `i`");
    const r = await client.request<{ data: number[] }>("textDocument/semanticTokens/full", {
      textDocument: { uri },
    });
    const types = ["keyword", "type", "function", "class", "variable", "parameter", "property", "number"];
    const decoded = new Map<string, string>();
    let line = 0;
    let ch = 0;
    for (let i = 0; i < r.data.length; i += 5) {
      const [dl, dc, len, type] = r.data.slice(i, i + 4) as [number, number, number, number];
      line += dl;
      ch = dl === 0 ? ch + dc : dc;
      decoded.set(`${line}:${ch}`, `${text.split("\n")[line]!.slice(ch, ch + len)}=${types[type] ?? type}`);
    }
    expect(decoded.get(`${use.line}:${use.character}`)).toBe("i=parameter");
    const edit = await client.request<WorkspaceEdit>("textDocument/rename", {
      textDocument: { uri },
      position: use,
      newName: "k",
    });
    // The definition, the use and the template's placeholder.
    expect(edit.changes?.[uri]?.map((e) => e.range.start)).toEqual(
      expect.arrayContaining([pos(text, "with i", 5), use, pos(text, "{i}", 1)]),
    );
    expect(edit.changes?.[uri]).toHaveLength(3);
  });

  it("an edit that breaks a file and one that repairs it: diagnostics appear, then clear", async () => {
    const uri = uriOf(path.join(dir, "edit.nn"));
    const good = "model M(x: f32[4]) {\n  dense(4) relu\n}\n";
    client.open(uri, good);
    await client.diagnostics(uri, clean);
    client.change(uri, good.replace("dense(4)", "dense(4"), 2);
    const broken = await client.diagnostics(uri, (p) => p.version === 2);
    expect(broken.diagnostics[0]?.code).toMatch(/^NN1/);
    expect(broken.diagnostics[0]?.source).toBe("nnc");
    const wrong = good.replace("dense(4)", "dense(4, bias = 3)");
    client.change(uri, wrong, 3);
    const typed = await client.diagnostics(uri, (p) => p.version === 3);
    // NN4002 WrongOptionType: `bias` is a bool in the vocabulary; the range is the value's.
    expect(typed.diagnostics.map((d) => [d.code, d.severity])).toEqual([["NN4002", 1]]);
    expect(typed.diagnostics[0]!.range).toEqual({ start: pos(wrong, "3)"), end: pos(wrong, "3)", 1) });
    expect(typed.diagnostics[0]!.message).toMatch(/bias/);
    client.change(uri, good.replace("dense(4)", "dnese(4)"), 4);
    const unknown = await client.diagnostics(uri, (p) => p.version === 4);
    expect(unknown.diagnostics[0]!.message).toMatch(/\nhelp: did you mean `dense`\?/);
    client.change(uri, good, 5);
    expect((await client.diagnostics(uri, (p) => p.version === 5)).diagnostics).toEqual([]);
    client.close(uri);
  });

  it("a library edit re-checks the open files that import it; related information points into the library", async () => {
    const libFile = path.join(dir, "lib.nn");
    const mainFile = path.join(dir, "main.nn");
    const lib = "block Two(d) {\n  dense(d) relu\n  dense(d)\n}\n";
    const main = 'import { Two } from "./lib.nn"\n\nmodel M(x: f32[4]) {\n  Two(4)\n}\n';
    fs.writeFileSync(libFile, lib);
    fs.writeFileSync(mainFile, main);
    client.open(uriOf(mainFile), main);
    client.open(uriOf(libFile), lib);
    await client.diagnostics(uriOf(mainFile), clean);
    // The library's block now needs a second argument: main.nn (not edited) gets the error.
    client.change(uriOf(libFile), lib.replace("Two(d)", "Two(d, e)"), 2);
    const broken = await client.diagnostics(uriOf(mainFile), (p) => p.diagnostics.length > 0);
    expect(broken.diagnostics[0]!.message).toMatch(/e/);
    // A syntax error in the library: shown at main's import, pointing into the library.
    client.change(uriOf(libFile), lib.replace("dense(d) relu", "dense(d relu"), 3);
    const syntax = await client.diagnostics(uriOf(mainFile), (p) =>
      p.diagnostics.some((d) => String(d.code).startsWith("NN1")),
    );
    const d = syntax.diagnostics.find((x) => String(x.code).startsWith("NN1"))!;
    expect(d.range.start).toEqual(pos(main, '"./lib.nn"'));
    expect(d.relatedInformation?.[0]?.location.uri).toBe(uriOf(libFile));
    client.change(uriOf(libFile), lib, 4);
    await client.diagnostics(uriOf(mainFile), (p) => p.diagnostics.length === 0);
    client.close(uriOf(libFile));
    client.close(uriOf(mainFile));
  });
});

// ── Hostile input through the server ─────────────────────────────────────────────────────────────────

/** mulberry32, as in test/robustness.test.ts: every input is reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe("nnc lsp on hostile input", () => {
  it("answers every request on prefixes, token soups, deep nesting, odd characters and a 10 MB paste, and never logs a failure", async () => {
    const uri = uriOf(path.join(dir, "hostile.nn"));
    const example = read(gpt2);
    const inputs: string[] = [];
    // Cuts of a real spec (inside tokens, comments, strings and calls), as typing leaves them.
    for (let i = 0; i < example.length; i += 151) inputs.push(example.slice(0, i));
    // Token soups from the robustness test's alphabet, and the shapes it found hard.
    const soup = [
      "model",
      "block",
      "const",
      "import",
      "from",
      "as",
      "of",
      "repeat",
      "input",
      "output",
      "expect",
      "loss",
      "dense",
      "(",
      ")",
      "{",
      "}",
      "[",
      "]",
      ",",
      "=",
      "->",
      ":",
      ";",
      ".",
      "1",
      "0.5",
      "1e999",
      '"x"',
      '"',
      "x",
      "Mlp",
      "#",
      "\\",
      "==",
      "<=",
      "-",
      "*",
      "//",
    ];
    for (let seed = 1; seed <= 40; seed++) {
      const r = prng(7000 + seed);
      let text = "";
      for (let n = Math.floor(r() * 120); n > 0; n--)
        text += soup[Math.floor(r() * soup.length)]! + [" ", "", "\n"][Math.floor(r() * 3)]!;
      inputs.push(text);
    }
    inputs.push(
      "(".repeat(10_000),
      "{".repeat(5_000) + "}".repeat(5_000),
      "]".repeat(10_000),
      "\u0000".repeat(1000),
      "model M(x: f32[4]) {\r  dense(4)\r}\r",
      "\uFEFFmodel M(x: f32[4]) { dense(4) }",
      "\uD800\uDC00\uDFFF model",
    );
    inputs.push('import "./hostile.nn"\nimport { X } from "./nope.nn"\nmodel M(x: f32[4]) { X(1) }\n');
    inputs.push("model M(x: f32[4]) {\n" + "  dense(4) relu\n".repeat(750_000) + "}\n"); // ~11 MB
    client.open(uri, "");
    let version = 1;
    const r = prng(42);
    for (const text of inputs) {
      client.change(uri, text, ++version);
      const lines = text.split("\n");
      const somewhere = () => {
        const line = Math.floor(r() * lines.length);
        return { line, character: Math.floor(r() * ((lines[line]?.length ?? 0) + 2)) };
      };
      const doc = { textDocument: { uri } };
      const answers = await Promise.all([
        client.request("textDocument/hover", { ...doc, position: somewhere() }),
        client.request("textDocument/completion", { ...doc, position: somewhere() }),
        client.request("textDocument/signatureHelp", { ...doc, position: somewhere() }),
        client.request("textDocument/definition", { ...doc, position: somewhere() }),
        client.request("textDocument/references", {
          ...doc,
          position: somewhere(),
          context: { includeDeclaration: true },
        }),
        client.request("textDocument/prepareRename", { ...doc, position: somewhere() }),
        client.request("textDocument/documentSymbol", doc),
        client.request("textDocument/semanticTokens/full", doc),
        client.request("textDocument/formatting", { ...doc, options: { tabSize: 2, insertSpaces: true } }),
        // Outside the document: empty answers, not errors.
        client.request("textDocument/hover", { ...doc, position: { line: lines.length + 5, character: 0 } }),
        client.request("textDocument/definition", { ...doc, position: { line: 0, character: -3 } }),
      ]);
      expect(answers[9]).toBeNull();
      expect(answers[10]).toBeNull();
    }
    // The last input (11 MB) is refused with NN1006, as `nnc check` refuses it; the session goes on.
    const big = await client.diagnostics(uri, (p) => p.version === version, 20_000);
    expect(big.diagnostics.map((d) => d.code)).toEqual(["NN1006"]);
    client.change(uri, "model M(x: f32[4]) {\n  dense(4)\n}\n", ++version);
    expect((await client.diagnostics(uri, (p) => p.version === version)).diagnostics).toEqual([]);
    client.close(uri);
    expect(client.stderr()).not.toMatch(/failed/);
  }, 60_000);
});
