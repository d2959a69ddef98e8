// What the language server answers, computed on offsets (UTF-16, as spans are): hover texts, completion
// items, signature help, the outline and semantic tokens. server.ts converts positions and wires these to
// the protocol. Completion and signature help read the tokens before the cursor (the file is usually
// broken while one types), with names from the last analysis whose entry file parsed.
import type { IToken, TokenType as LexTokenType } from "chevrotain";
import * as t from "../../grammar/tokens.js";
import type { LayerNode, TensorRecord } from "../analyze/analyze.js";
import type { Span } from "../diagnostics/diagnostic.js";
import { grouped, humanBytes, nodeFigures, type Figures } from "../count/count.js";
import { printExpr } from "../format/print.js";
import type * as A from "../syntax/ast.js";
import { limits, tokenLowerBound } from "../syntax/parse.js";
import {
  describeType,
  expectQuantities,
  inputDtypes,
  layerKinds,
  layers,
  losses,
  universalOptions,
  type DefaultValue,
  type LayerEntry,
  type ParamSpec,
} from "../vocabulary/layers.js";
import { roles, type Role } from "../vocabulary/types.js";
import { blockDeclOf, defKey, symbolAt, type CallSite, type Def, type FileIndex } from "./symbols.js";
import type { Analysis } from "./workspace.js";

// ── Hover ────────────────────────────────────────────────────────────────────────────────────────────

export interface HoverText {
  readonly markdown: string;
  readonly span: Span;
}

const roleNames: Record<Role, string> = {
  matrix: "matrix",
  embedding: "embedding",
  normScale: "norm scale",
  bias: "bias",
  normShift: "norm shift",
  other: "other",
};

export function showDefault(d: DefaultValue | undefined): string {
  if (!d) return "required";
  switch (d.kind) {
    case "int":
      return String(d.value);
    case "decimal":
      return String(d.value);
    case "bool":
      return String(d.value);
    case "enum":
      return d.value;
    case "string":
      return JSON.stringify(d.value);
    case "none":
      return "none";
    case "sameAs":
      return `= ${d.param}`;
    case "derived":
      return d.formula;
  }
}

export function paramLine(p: ParamSpec): string {
  return `\`${p.name}\`: ${describeType(p.type)}${p.default ? ` (default ${showDefault(p.default)})` : " (required)"}${p.description ? ` — ${p.description}` : ""}`;
}

/** `dense(out, bias = true)` */
export function layerSignature(entry: LayerEntry): string {
  const parts = [
    ...entry.args.map((a) => a.name),
    ...entry.options.map((o) => `${o.name} = ${showDefault(o.default)}`),
  ];
  return `${entry.kind}(${parts.join(", ")})`;
}

export function blockSignature(decl: A.BlockDecl): string {
  return `block ${decl.name.name}(${decl.params.map((p) => (p.default ? `${p.name.name} = ${printExpr(p.default)}` : p.name.name)).join(", ")})`;
}

function layerDoc(entry: LayerEntry): string {
  const lines = [
    `\`\`\`nn\n${layerSignature(entry)}\n\`\`\``,
    `${entry.kind}: ${entry.description}${entry.aliasOf ? ` (an alias of \`${entry.aliasOf}\`)` : ""}`,
  ];
  const params = [...entry.args, ...entry.options];
  if (params.length > 0) lines.push(params.map((p) => `- ${paramLine(p)}`).join("\n"));
  return lines.join("\n\n");
}

/** The analysis nodes made from the stage at `stage` (every instance, through every open program). */
export function instancesOf(
  analyses: readonly Analysis[],
  stage: Span,
): { first: LayerNode; copies: bigint; file: string } | undefined {
  let first: LayerNode | undefined;
  let copies = 0n;
  let entry = "";
  for (const a of analyses) {
    for (const m of a.checked.models) {
      const found = nodesAt(m.analysis.root, stage);
      for (const n of found) {
        if (!first) {
          first = n;
          entry = a.file;
        }
        copies += n.multiplicity;
      }
    }
    if (first) break;
  }
  return first ? { first, copies, file: entry } : undefined;
}

/** Nodes of a tree made from the stage at `stage`, depth first (bounded: at most 200,000 nodes visited). */
function nodesAt(root: LayerNode, stage: Span): LayerNode[] {
  const out: LayerNode[] = [];
  const stack: LayerNode[] = [root];
  let visited = 0;
  while (stack.length > 0 && visited < 200_000) {
    const n = stack.pop()!;
    visited++;
    if (n.span.file === stage.file && n.span.start === stage.start && n.span.end === stage.end) out.push(n);
    const children = n.children;
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

function subtreeTensors(n: LayerNode, max: number): { tensors: TensorRecord[]; total: number } {
  const tensors: TensorRecord[] = [];
  let total = 0;
  const stack = [n];
  while (stack.length > 0 && total < 100_000) {
    const x = stack.pop()!;
    for (const t of x.tensors) {
      total++;
      if (tensors.length < max) tensors.push(t);
    }
    for (let i = x.children.length - 1; i >= 0; i--) stack.push(x.children[i]!);
  }
  return { tensors, total };
}

function shape(s: readonly bigint[]): string {
  return `[${s.join(", ")}]`;
}

function rolesLine(f: Figures): string {
  const parts = roles.filter((r) => f.roles[r] !== 0n).map((r) => `${roleNames[r]} ${grouped(f.roles[r])}`);
  return parts.length > 0 ? ` (${parts.join(" · ")})` : "";
}

function callHover(site: CallSite, analyses: readonly Analysis[]): string {
  const head =
    site.target.kind === "layer"
      ? layerDoc(site.target.entry)
      : site.target.kind === "block"
        ? `\`\`\`nn\n${blockSignature(site.target.block.decl)}\n\`\`\``
        : `\`${site.target.name}\` (imported)`;
  const found = instancesOf(analyses, site.stage);
  if (!found) return `${head}\n\n_no analysis: the spec has errors, or no open model uses this line_`;
  const n = found.first;
  const f = nodeFigures(n);
  const lines = [
    `**${n.name === "" ? n.kind : n.name}** — output \`${n.outputShape}\``,
    `parameters: ${grouped(f.params)}${rolesLine(f)}${f.buffers !== 0n ? `; buffers ${grouped(f.buffers)}` : ""}`,
    `MACs: ${grouped(n.macs)} (one sample)`,
  ];
  if (found.copies > 1n)
    lines.push(`${grouped(found.copies)} instances in the model; this is the first (\`${n.name}\`)`);
  if (n.shares !== undefined)
    lines.push(`applies \`${n.shares}\` again (\`share\`): its tensors are that instance's, counted there`);
  const { tensors, total } = subtreeTensors(n, 12);
  const tensorLines = tensors.map(
    (t) =>
      `| \`${t.name}\` | ${shape(t.shape)} | ${t.role === "buffer" ? "buffer" : roleNames[t.role]}${t.tiedTo ? `, tied to \`${t.tiedTo}\`` : ""}${t.frozen ? ", frozen" : ""} |`,
  );
  let table = "";
  if (tensors.length > 0) {
    table = `\n\n| state_dict name | shape | role |\n|---|---|---|\n${tensorLines.join("\n")}`;
    if (total > tensors.length) table += `\n\n… and ${total - tensors.length} more tensors`;
  }
  return `${head}\n\n---\n\n${lines.join("  \n")}${table}`;
}

function modelHover(def: Def, a: Analysis | undefined): string {
  const head = `\`\`\`nn\nmodel ${def.name}\n\`\`\``;
  const m = a?.checked.models.find(
    (x) => x.analysis.name === def.name && x.analysis.root.span.start === def.span.start,
  );
  if (!m) return `${head}\n\n_no figures: the spec has errors_`;
  const f = m.figures;
  const rows: [string, string][] = [
    ["parameters", grouped(f.params)],
    ["weights", grouped(f.weights)],
    ["biases", grouped(f.biases)],
    ["trainable", grouped(f.trainable)],
    ["non-trainable", grouped(f.nonTrainable)],
    ["buffers", grouped(f.buffers)],
    ["MACs", grouped(f.macs)],
    ["FLOPs", grouped(f.flops)],
    ["fp32 parameters", `${grouped(f.bytes.fp32)} bytes (${humanBytes(f.bytes.fp32)})`],
    ["training with Adam", `${grouped(f.bytes.trainingAdam)} bytes (${humanBytes(f.bytes.trainingAdam)})`],
  ];
  if (f.activeParams !== f.params) rows.splice(1, 0, ["active per token", grouped(f.activeParams)]);
  if (f.paramsIfTiesCountedTwice !== f.params)
    rows.splice(1, 0, ["ties counted twice", grouped(f.paramsIfTiesCountedTwice)]);
  return `${head}\n\n| nnc count | |\n|---|---:|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join("\n")}`;
}

function defHover(def: Def, a: Analysis): string {
  switch (def.kind) {
    case "model":
      return modelHover(def, a);
    case "block": {
      const decl = blockDeclOf(def);
      return decl ? `\`\`\`nn\n${blockSignature(decl)}\n\`\`\`` : `block \`${def.name}\``;
    }
    case "const": {
      const node = def.node as A.ConstDecl | undefined;
      let value: bigint | undefined;
      for (const r of a.resolved.values()) {
        if (node && r.bodyConstants.has(node)) value = r.bodyConstants.get(node);
        else if (r.file.span.file === def.span.file && r.file.items.includes(node as A.Item))
          value = r.constants.get(def.name);
      }
      const written = node ? printExpr(node.value) : "";
      return `\`\`\`nn\nconst ${def.name} = ${written}\n\`\`\`${value !== undefined && written !== String(value) ? `\n\n= ${grouped(value)}` : ""}`;
    }
    case "param": {
      const p = def.node as A.Param | undefined;
      return `block parameter \`${def.name}\`${p?.default ? ` (default \`${printExpr(p.default)}\`)` : ""}`;
    }
    case "dim":
      return `symbolic dimension \`${def.name}\``;
    case "index":
      return `repeat index \`${def.name}\`: each copy's number (from the repeat's \`from\`, else 0)`;
    case "value":
      return `value \`${def.name}\``;
    case "layerName":
      return `layer name \`${def.name}\``;
  }
}

export function hover(a: Analysis, all: readonly Analysis[], offset: number): HoverText | undefined {
  const f = a.index.files.get(a.file);
  if (!f) return undefined;
  for (const site of f.calls) {
    if (site.span.start <= offset && offset <= site.span.end)
      return { markdown: callHover(site, [a, ...all.filter((x) => x !== a)]), span: site.span };
  }
  const sym = symbolAt(a.index, a.file, offset);
  if (sym) return { markdown: defHover(sym.def, a), span: sym.span };
  return undefined;
}

// ── Tokens around the cursor ─────────────────────────────────────────────────────────────────────────

/** The tokens of the text before `offset`, from the start of a line at most ~8 KB back (a window: the
 *  cost does not grow with the file). */
function tokensBefore(text: string, offset: number): IToken[] {
  let from = Math.max(0, offset - 8192);
  if (from > 0) {
    const nl = text.indexOf("\n", from);
    from = nl < 0 || nl >= offset ? offset : nl + 1;
  }
  const piece = text.slice(from, offset);
  return t.lexer.tokenize(piece).tokens;
}

interface CallContext {
  /** The callee: a layer kind, a block or a loss name. */
  readonly callee: string;
  /** Positional arguments before the cursor's. */
  readonly position: number;
  /** The option being written (`name =` before the cursor), if any. */
  readonly named?: string;
  /** Whether the cursor follows `name =` directly (a value is expected). */
  readonly afterEquals: boolean;
  /** Options already given by name. */
  readonly given: ReadonlySet<string>;
}

/** The call whose parentheses enclose the end of `tokens`, if any. */
function enclosingCall(tokens: readonly IToken[]): CallContext | undefined {
  let depth = 0;
  for (let i = tokens.length - 1; i >= 0; i--) {
    const tok = tokens[i]!;
    const type = tok.tokenType;
    if (type === t.RParen || type === t.RBracket || type === t.RCurly) depth++;
    else if (type === t.LBracket || type === t.LCurly) {
      if (depth === 0) return undefined;
      depth--;
    } else if (type === t.LParen) {
      if (depth > 0) {
        depth--;
        continue;
      }
      const callee = tokens[i - 1];
      if (!callee || callee.tokenType !== t.Identifier) return undefined;
      // The arguments between `(` and the cursor, at depth 0.
      let position = 0;
      let named: string | undefined;
      const given = new Set<string>();
      let d = 0;
      let argStart = i + 1;
      for (let j = i + 1; j < tokens.length; j++) {
        const x = tokens[j]!.tokenType;
        if (x === t.LParen || x === t.LBracket || x === t.LCurly) d++;
        else if (x === t.RParen || x === t.RBracket || x === t.RCurly) d--;
        else if (d === 0 && x === t.Comma) {
          if (named !== undefined) given.add(named);
          else position++;
          named = undefined;
          argStart = j + 1;
        } else if (d === 0 && x === t.Equals && j === argStart + 1 && tokens[argStart]?.tokenType === t.Identifier) {
          named = tokens[argStart]!.image;
        }
      }
      const last = tokens[tokens.length - 1];
      return {
        callee: callee.image,
        position,
        ...(named !== undefined ? { named } : {}),
        afterEquals: last?.tokenType === t.Equals,
        given,
      };
    }
  }
  return undefined;
}

// ── Completion ───────────────────────────────────────────────────────────────────────────────────────

export type CompletionKind =
  "layer" | "block" | "const" | "value" | "option" | "keyword" | "enum" | "loss" | "quantity" | "dtype" | "param";

export interface Completion {
  readonly label: string;
  readonly kind: CompletionKind;
  readonly detail?: string;
  readonly documentation?: string;
  /** Text to insert when it differs from the label (`bias = `). */
  readonly insertText?: string;
}

function paramsOf(
  callee: string,
  a: Analysis | undefined,
): { params: readonly ParamSpec[]; named: readonly ParamSpec[] } | undefined {
  const entry = layerKinds.get(callee);
  if (entry) return { params: entry.args, named: [...entry.options, ...universalOptions] };
  const loss = losses.find((l) => l.name === callee);
  if (loss) return { params: [], named: loss.options };
  const decl = blockDecl(callee, a);
  if (decl) {
    const params = decl.params.map((p): ParamSpec => ({
      name: p.name.name,
      type: { kind: "size" },
      ...(p.default ? { default: { kind: "derived", formula: printExpr(p.default) } } : {}),
    }));
    // A block call takes `frozen` and `share` but not `tie` (NN5005).
    return { params, named: [...params, ...universalOptions.filter((o) => o.name !== "tie")] };
  }
  return undefined;
}

function blockDecl(name: string, a: Analysis | undefined): A.BlockDecl | undefined {
  const r = a?.resolved.get(a.file);
  const info = r?.blocks.get(name);
  if (info) return info.decl;
  const f = a?.index.files.get(a.file);
  const def = f ? [...f.exports.values(), ...f.defs].find((d) => d.kind === "block" && d.name === name) : undefined;
  if (blockDeclOf(def)) return blockDeclOf(def);
  // Imported blocks, through the index.
  for (const idx of a?.index.files.values() ?? []) {
    const d = idx.exports.get(name);
    if (blockDeclOf(d)) return blockDeclOf(d);
  }
  return undefined;
}

/** The definitions visible at `offset` in the entry file: file-level names and those of the bodies that
 *  enclose the offset (values bound before it). */
function namesInScope(f: FileIndex | undefined, a: Analysis, offset: number): Def[] {
  const out: Def[] = [];
  if (!f) return out;
  const ast = a.program.files.get(a.file)?.ast;
  const enclosing = ast?.items.find(
    (i) => (i.kind === "Block" || i.kind === "Model") && i.span.start <= offset && offset <= i.span.end,
  );
  const topLevelSpans = new Set<Span>(
    (ast?.items ?? []).filter((i) => i.kind === "Block" || i.kind === "Const").map((i) => i.span),
  );
  for (const d of f.defs) {
    if (d.kind === "model" || d.kind === "layerName") continue;
    const topLevel = topLevelSpans.has(d.range);
    if (topLevel) out.push(d);
    else if (
      enclosing &&
      enclosing.span.start <= d.span.start &&
      d.span.end <= enclosing.span.end &&
      (d.kind !== "value" || d.span.end <= offset) &&
      (d.kind !== "index" || (d.range.start <= offset && offset <= d.range.end))
    )
      out.push(d);
  }
  const seen = new Set<Def>(out);
  for (const r of f.refs) {
    if (r.def.span.file === a.file || seen.has(r.def)) continue;
    seen.add(r.def);
    out.push(r.def);
  }
  return out;
}

export function complete(text: string, offset: number, a: Analysis | undefined): Completion[] {
  // A partly typed word is not context: the client filters by it.
  let wordStart = Math.min(offset, text.length);
  while (wordStart > 0 && /[A-Za-z0-9_]/.test(text[wordStart - 1]!)) wordStart--;
  const before = tokensBefore(text, wordStart);
  const prev = before[before.length - 1];
  if (prev?.tokenType === t.Loss)
    return losses.map((l) => ({ label: l.name, kind: "loss" as const, detail: l.description }));
  if (prev?.tokenType === t.Expect)
    return expectQuantities.map((q) => ({ label: q.name, kind: "quantity" as const, detail: q.description }));
  if (prev?.tokenType === t.Colon)
    return inputDtypes.map((d) => ({ label: d.name, kind: "dtype" as const, detail: d.description }));
  if (prev?.tokenType === t.Import || prev?.tokenType === t.From || prev?.tokenType === t.StringLiteral) return [];
  // `as …` names a layer: a new name, nothing to complete.
  if (prev?.tokenType === t.As) return [];
  const call = enclosingCall(before);
  const out: Completion[] = [];
  if (call) {
    const sig = paramsOf(call.callee, a);
    if (call.named !== undefined && call.afterEquals) {
      const p = sig?.named.find((x) => x.name === call.named) ?? sig?.params.find((x) => x.name === call.named);
      if (p) for (const v of valuesOf(p)) out.push({ label: v, kind: "enum", detail: describeType(p.type) });
    } else if (call.named === undefined && sig) {
      const positional = sig.params.slice(call.position).map((x) => x.name);
      for (const p of [...sig.params, ...sig.named]) {
        if (call.given.has(p.name) || out.some((o) => o.label === p.name)) continue;
        if (sig.params.includes(p) && !positional.includes(p.name)) continue;
        out.push({
          label: p.name,
          kind: "option",
          detail: `${describeType(p.type)}${p.default ? ` = ${showDefault(p.default)}` : " (required)"}`,
          ...(p.description ? { documentation: p.description } : {}),
          insertText: `${p.name} = `,
        });
      }
    }
  }
  if (!call || !call.afterEquals || out.length === 0) {
    if (!call) {
      for (const entry of layers)
        out.push({ label: entry.kind, kind: "layer", detail: layerSignature(entry), documentation: entry.description });
      for (const k of t.keywordNames) out.push({ label: k, kind: "keyword" });
    }
    if (a) {
      for (const d of namesInScope(a.index.files.get(a.file), a, offset)) {
        if (out.some((o) => o.label === d.name)) continue;
        if (call && (d.kind === "block" || d.kind === "value")) continue;
        out.push({
          label: d.name,
          kind:
            d.kind === "block"
              ? "block"
              : d.kind === "value"
                ? "value"
                : d.kind === "param" || d.kind === "index"
                  ? "param"
                  : "const",
          ...(blockDeclOf(d) ? { detail: blockSignature(blockDeclOf(d)!) } : {}),
        });
      }
    }
  }
  return out;
}

function valuesOf(p: ParamSpec): string[] {
  const out: string[] = [];
  const visit = (type: ParamSpec["type"]): void => {
    if (type.kind === "enum") out.push(...type.values);
    else if (type.kind === "bool") out.push("true", "false");
    else if (type.kind === "oneOf") type.types.forEach(visit);
  };
  visit(p.type);
  return out;
}

// ── Signature help ───────────────────────────────────────────────────────────────────────────────────

export interface Signature {
  readonly label: string;
  readonly documentation?: string;
  readonly parameters: readonly { readonly label: string; readonly documentation: string }[];
  readonly active: number;
}

export function signatureHelp(text: string, offset: number, a: Analysis | undefined): Signature | undefined {
  const call = enclosingCall(tokensBefore(text, offset));
  if (!call) return undefined;
  const entry = layerKinds.get(call.callee);
  const sig = paramsOf(call.callee, a);
  if (!sig) return undefined;
  const all = [...sig.params, ...sig.named.filter((n) => !sig.params.some((p) => p.name === n.name))];
  const parameters = all.map((p) => ({
    label: sig.params.includes(p) ? p.name : `${p.name} = ${showDefault(p.default)}`,
    documentation: paramLine(p),
  }));
  const label = `${call.callee}(${parameters.map((p) => p.label).join(", ")})`;
  let active = call.named !== undefined ? all.findIndex((p) => p.name === call.named) : call.position;
  if (active < 0 || active >= all.length) active = all.length;
  return { label, ...(entry ? { documentation: entry.description } : {}), parameters, active };
}

// ── Outline ──────────────────────────────────────────────────────────────────────────────────────────

export interface OutlineItem {
  readonly name: string;
  readonly kind: "model" | "block" | "const" | "layer" | "input" | "param";
  readonly detail?: string;
  readonly range: Span;
  readonly selection: Span;
  readonly children: OutlineItem[];
}

export function outline(ast: A.FileNode): OutlineItem[] {
  const out: OutlineItem[] = [];
  const body = (b: A.Body, into: OutlineItem[]): void => {
    for (const s of b.statements) {
      if (s.kind === "Const")
        into.push({
          name: s.name.name,
          kind: "const",
          detail: printExpr(s.value),
          range: s.span,
          selection: s.name.span,
          children: [],
        });
      if (s.kind !== "Binding" && s.kind !== "FlowStmt") continue;
      for (const st of s.flow.stages) {
        const children: OutlineItem[] = [];
        if (st.body) body(st.body, children);
        if (st.alias) {
          const detail =
            st.kind === "Repeat"
              ? `repeat ${printExpr(st.count)}`
              : st.expr.kind === "Call"
                ? st.expr.callee.name
                : st.expr.kind === "Ident"
                  ? st.expr.name
                  : "";
          into.push({ name: st.alias.name, kind: "layer", detail, range: st.span, selection: st.alias.span, children });
        } else into.push(...children);
      }
    }
  };
  for (const item of ast.items) {
    if (item.kind === "Import") continue;
    const children: OutlineItem[] = [];
    if (item.kind === "Model") {
      for (const i of item.inputs)
        children.push({
          name: i.name.name,
          kind: "input",
          detail: printTypeShort(i.type),
          range: i.span,
          selection: i.name.span,
          children: [],
        });
      body(item.body, children);
      out.push({ name: item.name.name, kind: "model", range: item.span, selection: item.name.span, children });
    } else if (item.kind === "Block") {
      for (const p of item.params)
        children.push({
          name: p.name.name,
          kind: "param",
          ...(p.default ? { detail: printExpr(p.default) } : {}),
          range: p.span,
          selection: p.name.span,
          children: [],
        });
      body(item.body, children);
      out.push({
        name: item.name.name,
        kind: "block",
        detail: blockSignature(item),
        range: item.span,
        selection: item.name.span,
        children,
      });
    } else {
      out.push({
        name: item.name.name,
        kind: "const",
        detail: printExpr(item.value),
        range: item.span,
        selection: item.name.span,
        children: [],
      });
    }
  }
  return out;
}

function printTypeShort(type: A.TypeExpr): string {
  const dims = type.dims.map((d) => (d.max ? `${printExpr(d.size)} <= ${printExpr(d.max)}` : printExpr(d.size)));
  return `${type.dtype.name}[${dims.join(", ")}]${type.vocab ? ` of ${printExpr(type.vocab)}` : ""}`;
}

// ── Semantic tokens ──────────────────────────────────────────────────────────────────────────────────

export const tokenTypes = [
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
] as const;
export type TokenType = (typeof tokenTypes)[number];
export const tokenModifiers = ["declaration", "readonly", "defaultLibrary"] as const;

export interface SemanticToken {
  readonly start: number;
  readonly length: number;
  readonly type: TokenType;
  /** Bits of `tokenModifiers`. */
  readonly modifiers: number;
}

const operatorTypes = new Set([
  t.Arrow,
  t.EqEq,
  t.NotEq,
  t.LessEq,
  t.GreaterEq,
  t.Less,
  t.Greater,
  t.Equals,
  t.Plus,
  t.Minus,
  t.Star,
  t.SlashSlash,
  t.Slash,
  t.Percent,
]);

/** Every token of the text, classified: by the symbol index where the analysis is of this text, by the
 *  vocabulary otherwise. Empty for a file too large to lex (the parser refuses it too). */
export function semanticTokens(text: string, a: Analysis | undefined): SemanticToken[] {
  if (tokenLowerBound(text) > limits.maxTokens) return [];
  const lexed = t.lexer.tokenize(text);
  const tokens = [...lexed.tokens, ...((lexed.groups["comments"] as IToken[] | undefined) ?? [])].sort(
    (x, y) => x.startOffset - y.startOffset,
  );
  const fresh = a && a.text === text ? a.index.files.get(a.file) : undefined;
  const byStart = new Map<number, { type: TokenType; modifiers: number }>();
  if (fresh) {
    const kindType = (d: Def): TokenType =>
      d.kind === "block" || d.kind === "model"
        ? "class"
        : d.kind === "param" || d.kind === "index"
          ? "parameter"
          : d.kind === "value" || d.kind === "layerName"
            ? "variable"
            : "variable";
    for (const d of fresh.defs)
      byStart.set(d.span.start, { type: kindType(d), modifiers: 1 | (d.kind === "const" || d.kind === "dim" ? 2 : 0) });
    for (const r of fresh.refs)
      byStart.set(r.span.start, {
        type: kindType(r.def),
        modifiers: r.def.kind === "const" || r.def.kind === "dim" ? 2 : 0,
      });
    for (const c of fresh.calls)
      if (c.target.kind === "layer") byStart.set(c.span.start, { type: "function", modifiers: 4 });
    for (const s of fresh.optionNames) byStart.set(s.start, { type: "property", modifiers: 0 });
  }
  const out: SemanticToken[] = [];
  // A keyword in a name path (`as output.dense`, `tie = model.norm`) is a name: after `as` or `.`, or right
  // after `=` inside parentheses (a `tie = …` value); `parens` counts the open `(` and `[`.
  let parens = 0;
  let previous: LexTokenType | undefined;
  for (const tok of tokens) {
    const start = tok.startOffset;
    const length = tok.image.length;
    if (length === 0) continue;
    const type = tok.tokenType;
    let kind: TokenType | undefined;
    let modifiers = 0;
    if (type === t.Identifier) {
      const known = byStart.get(start);
      if (known) ({ type: kind, modifiers } = known);
      else if (layerKinds.has(tok.image) || losses.some((l) => l.name === tok.image)) {
        kind = "function";
        modifiers = 4;
      } else if (inputDtypes.some((d) => d.name === tok.image)) kind = "type";
      else kind = fresh ? "enumMember" : "variable";
    } else if (t.keywords.includes(type)) {
      const named =
        previous === t.As ||
        previous === t.Dot ||
        (previous === t.Equals && parens > 0 && type !== t.True && type !== t.False);
      kind = named ? "variable" : "keyword";
    } else if (type === t.Integer || type === t.Decimal) kind = "number";
    else if (type === t.StringLiteral || type === t.UnterminatedString) kind = "string";
    else if (type === t.Comment) kind = "comment";
    else if (operatorTypes.has(type)) kind = "operator";
    if (type === t.LParen || type === t.LBracket) parens++;
    else if ((type === t.RParen || type === t.RBracket) && parens > 0) parens--;
    else if (type === t.LCurly || type === t.RCurly) parens = 0;
    if (type !== t.Comment) previous = type;
    if (kind === undefined) continue;
    // A token spanning lines (none in this language but a string with escapes) is not split: skip it.
    if (tok.image.includes("\n") || tok.image.includes("\r")) continue;
    out.push({ start, length, type: kind, modifiers });
  }
  return out;
}

export { defKey };
