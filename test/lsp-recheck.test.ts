// The language server's keystroke re-check (src/lsp/workspace.ts with incremental.ts and recheck.ts) gives
// what a fresh full check gives: after every edit of a sequence of random edits on the examples (and on the
// libraries they import, through the open-document overlay), its diagnostics equal `checkProgram`'s — same
// order, spans included — and its hovers, outline-relevant analyses and figures equal those of a fresh
// workspace. The edits change numbers (so counts, shapes and `expect` results change while the text still
// parses), move items (line breaks, spaces), break the syntax and repair it; the models' diagnostics are
// reused from the cache for most steps (checked), so a stale cache entry shows up as a difference. The
// resolution of every file (calls and their arguments, value names, constants, models; blocks' and models'
// resolutions reused from the last check, src/resolve/cache.ts) is compared with the full check's too.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { hover } from "../src/lsp/features.js";
import { Workspace } from "../src/lsp/workspace.js";
import { nodeHost } from "../src/program/node-host.js";
import { checkProgram } from "../src/program/check.js";
import type { Span } from "../src/diagnostics/diagnostic.js";
import type { ResolvedFile } from "../src/resolve/resolve.js";

/** What resolution returned for a file, keyed by where its nodes stand (a `block` call target must be the
 *  `BlockInfo` of the same resolution). */
function resolution(r: ResolvedFile | undefined): unknown {
  if (!r) return undefined;
  const at = (n: { readonly span: Span }) => `${n.span.start}-${n.span.end}@${n.span.line}:${n.span.column}`;
  return {
    constants: [...r.constants],
    blocks: [...r.blocks].map(([k, b]) => [k, at(b.decl), b.imported, b.from]),
    models: [...r.models].map(([k, m]) => [k, at(m.decl), m.inputs, m.loss]),
    calls: [...r.calls].map(([n, t]) => [
      at(n),
      t.kind,
      t.kind === "layer"
        ? t.entry.kind
        : t.kind === "block"
          ? [t.block.name, r.blocks.get(t.block.name) === t.block]
          : t.name,
      [...t.args],
    ]),
    values: [...r.values].map(([n, v]) => [at(n), at(v)]),
    bodyConstants: [...r.bodyConstants].map(([n, v]) => [at(n), v]),
    repeats: [...r.repeats].map(([n, v]) => [at(n), v]),
    expects: [...r.expects].map(([n, v]) => [at(n), v]),
  };
}

const key = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x));

function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random edit of `text`: mostly a digit changed (the text still parses; numbers change), else a line
 *  break or spaces inserted (items move), a character deleted, or a stray character (a syntax error). */
function edit(text: string, r: () => number): string {
  const kind = r();
  if (kind < 0.55) {
    const digits: number[] = [];
    for (let i = 0; i < text.length; i++) if (/[0-9]/.test(text[i]!)) digits.push(i);
    if (digits.length > 0) {
      const at = digits[Math.floor(r() * digits.length)]!;
      const d = String(1 + Math.floor(r() * 9));
      return text.slice(0, at) + d + text.slice(at + 1);
    }
  }
  const at = Math.floor(r() * (text.length + 1));
  if (kind < 0.75) return text.slice(0, at) + (r() < 0.5 ? "\n" : "  ") + text.slice(at);
  if (kind < 0.9) return text.slice(0, at) + text.slice(at + 1);
  return text.slice(0, at) + "(" + text.slice(at);
}

const read = (file: string) => fs.readFileSync(file, "utf8");

/** Examples with one model each, two with the library they import; and one file of several examples (eight
 *  models, mobilenet's `classes` renamed), where most edits leave most models' inputs alone. */
const cases: { name: string; entry: string; text?: string; lib?: string; reused: number; resolutions: number }[] = [
  { name: "gpt2.nn", entry: "examples/gpt2.nn", lib: "examples/lib/transformer.nn", reused: 1, resolutions: 10 },
  { name: "resnet18.nn", entry: "examples/resnet18.nn", lib: "examples/lib/resnet.nn", reused: 1, resolutions: 60 },
  { name: "vit-b16.nn", entry: "examples/vit-b16.nn", reused: 1, resolutions: 50 },
  {
    name: "several examples in one file",
    entry: "examples/several.nn",
    text: [
      read("examples/lstm-classifier.nn"),
      read("examples/mnist-mlp.nn"),
      read("examples/lenet5.nn"),
      read("examples/xor.nn"),
      read("examples/mobilenet-v2.nn").replace(/\bclasses\b/g, "mclasses"),
    ].join("\n"),
    reused: 100,
    resolutions: 150,
  },
];

describe("keystroke re-check equals a full check", () => {
  for (const [n, c] of cases.entries()) {
    it(`${c.name}: diagnostics, hovers and figures after 60 random edits`, () => {
      const entry = path.resolve(c.entry);
      const lib = c.lib ? path.resolve(c.lib) : undefined;
      const base = new Map([[entry, c.text ?? read(entry)]]);
      if (lib) base.set(lib, read(lib));
      const texts = new Map(base);
      const ws = new Workspace(nodeHost);
      let version = 1;
      for (const [f, t] of texts) ws.open(f, t, version);
      ws.analyze(entry);
      const r = prng(100 + n);
      let reused = 0;
      let resolutions = 0;
      let withDiagnostics = 0;
      for (let step = 0; step < 60; step++) {
        if (step % 15 === 14) {
          for (const [f, t] of base) texts.set(f, t); // repaired
        } else {
          const f = lib && r() < 0.3 ? lib : entry;
          texts.set(f, edit(texts.get(f)!, r));
        }
        version++;
        for (const [f, t] of texts) ws.change(f, t, version);
        const a = ws.analyze(entry)!;
        reused += a.reusedModels;
        resolutions += a.reusedResolutions;

        // A fresh check of the same texts.
        const fresh = new Workspace(nodeHost);
        for (const [f, t] of texts) fresh.open(f, t, version);
        const b = fresh.analyze(entry)!;
        const full = checkProgram(entry, fresh.host, texts.get(entry));
        const context = `step ${step}`;
        expect(key(a.diagnostics), context).toBe(key(full.diagnostics));
        expect(key(b.diagnostics), context).toBe(key(full.diagnostics));
        if (a.diagnostics.length > 0) withDiagnostics++;
        // Resolution (blocks' and models' reused from the last check, src/resolve/cache.ts) of every file.
        for (const f of texts.keys())
          expect(key(resolution(a.resolved.get(f))), `${context}, ${f}`).toBe(
            key(resolution(full.value.resolved.get(f))),
          );
        // The models' analyses and figures (made on first use) and hovers at a few places.
        expect(key(a.checked.models.map((m) => m.figures)), context).toBe(key(full.value.models.map((m) => m.figures)));
        const text = texts.get(entry)!;
        for (let i = 0; i < 6; i++) {
          const offset = Math.floor(r() * (text.length + 1));
          expect(key(hover(a, ws.all(), offset)), `${context}, offset ${offset}`).toBe(
            key(hover(b, fresh.all(), offset)),
          );
        }
      }
      // The cache was exercised, and the edits changed what is reported.
      expect(reused).toBeGreaterThanOrEqual(c.reused);
      expect(resolutions).toBeGreaterThanOrEqual(c.resolutions);
      expect(withDiagnostics).toBeGreaterThan(5);
    }, 120_000);
  }
});

describe("resolution cache", () => {
  it("re-resolves an unchanged model when a block it calls changes its parameters, not its body", () => {
    const block = (params: string) => `block Hidden(${params}) {\n  dense(width) relu\n}\n\n`;
    const model = "model M(x: f32[4]) {\n  Hidden(8)\n  dense(2)\n}\n";
    const file = path.resolve("examples/resolve-cache.nn");
    const ws = new Workspace(nodeHost);
    // A valid text, then the parameter renamed (the call binds `8` to `units`: `width` is unknown), a
    // default dropped from a second parameter (the call misses it), and back; the model's text never changes.
    const texts = [
      block("width, depth = 1"),
      block("units, depth = 1"),
      block("width, depth"),
      block("width, depth = 2"),
    ].map((t) => t + model);
    let version = 0;
    let resolutions = 0;
    for (const text of [...texts, ...texts]) {
      ws.change(file, text, ++version);
      const a = ws.analyze(file)!;
      resolutions += a.reusedResolutions;
      const full = checkProgram(file, ws.host, text);
      expect(key(a.diagnostics), text).toBe(key(full.diagnostics));
      expect(key(resolution(a.resolved.get(file))), text).toBe(key(resolution(full.value.resolved.get(file))));
    }
    // The model's resolution was reused when only the block's body or a default's value changed.
    expect(resolutions).toBeGreaterThan(0);
  });
});
