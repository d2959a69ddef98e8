// Shape and combine ops that move values: concat, split, transpose, take, mean (PyTorch's torch.cat,
// torch.split, Tensor.transpose, select, mean; axes never count the batch, negative axes count from the
// end). `flatten`, `reshape` and `identity` move nothing and live in elementwise.ts.
//
// Every op here is a loop over `n × pre` rows, `pre` being the elements of the axes before the one the op
// works on; since activations are batch-major, row `r` of every operand starts at `r` times its row size.
import { lit, resolvedInt, type EmitCtx, type Kernel, type KernelFamily } from "../kernel.js";
import { suffixes } from "./conv.js";

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** An axis as the shape rule resolved it (`IrOp.attrs`): from 0, of a per-sample shape. */
function axisArg(c: EmitCtx, name: string): number {
  return resolvedInt(c.op, name);
}

const show = (shape: readonly number[]) => `[${shape.join(", ")}]`;

function rows(pre: number): string {
  return pre === 1 ? "n" : `n * ${pre}`;
}

/** A loop variable and its number of iterations (loops of one iteration are left out). */
interface Loop {
  readonly v: string;
  readonly extent: number;
}

/** `base + v * stride + …` over the loops that iterate more than once. */
function index(base: string, terms: readonly (readonly [Loop, number])[]): string {
  const parts = [base];
  for (const [loop, stride] of terms) if (loop.extent > 1) parts.push(stride === 1 ? loop.v : `${loop.v} * ${stride}`);
  return parts.join(" + ");
}

/** Nested `for` loops (outermost first) around `body`. */
function nest(loops: readonly Loop[], body: string): string {
  const open = loops.filter((l) => l.extent > 1);
  let code = body;
  for (const l of [...open].reverse()) code = `for (let ${l.v} = 0; ${l.v} < ${l.extent}; ${l.v}++) {\n${code}\n}`;
  return code;
}

// ── concat and split: one side is several arrays, cut along one axis ───────────────────────────────────

interface Pieces {
  readonly pre: number;
  /** Elements of each piece per row, and where each starts in the whole's row. */
  readonly chunks: readonly number[];
  readonly offsets: readonly number[];
  readonly total: number;
}

function pieces(shapes: readonly (readonly number[])[], axis: number): Pieces {
  const first = shapes[0]!;
  const pre = product(first.slice(0, axis));
  const post = product(first.slice(axis + 1));
  const chunks = shapes.map((s) => s[axis]! * post);
  const offsets: number[] = [];
  let total = 0;
  for (const k of chunks) {
    offsets.push(total);
    total += k;
  }
  return { pre, chunks, offsets, total };
}

/** Copies (or accumulates, `op` `+=`) between the pieces and the whole, one row at a time. */
function copyPieces(g: Pieces, whole: string, parts: readonly string[], toWhole: boolean, op: "=" | "+="): string {
  const lines = parts.map((part, k) => {
    const chunk = g.chunks[k]!;
    const w = `${whole}[${row("r", g.total, "i", g.offsets[k])}]`;
    const p = `${part}[${row("r", chunk, "i")}]`;
    const [dst, src] = toWhole ? [w, p] : [p, w];
    return `for (let i = 0; i < ${chunk}; i++) ${dst}${op === "=" ? " =" : "! +="} ${src}!;`;
  });
  return `for (let r = 0; r < ${rows(g.pre)}; r++) {
  ${lines.join("\n  ")}
}`;
}

export const concat: Kernel = {
  forward(c) {
    const axis = axisArg(c, "axis");
    const g = pieces(c.inShapes, axis);
    return `// ${c.op.name}: concat ${c.inShapes.map(show).join(" + ")} → ${show(c.outShapes[0]!)} along axis ${axis}
${copyPieces(g, c.y[0]!, c.x, true, "=")}`;
  },
  backward(c) {
    const axis = axisArg(c, "axis");
    const g = pieces(c.inShapes, axis);
    return `// ${c.op.name}: concat backward
${copyPieces(g, c.gy[0]!, c.gx, false, "+=")}`;
  },
};

export const split: Kernel = {
  forward(c) {
    const axis = axisArg(c, "axis");
    const g = pieces(c.outShapes, axis);
    return `// ${c.op.name}: split ${show(c.inShapes[0]!)} → ${c.outShapes.map(show).join(" + ")} along axis ${axis}
${copyPieces(g, c.x[0]!, c.y, false, "=")}`;
  },
  backward(c) {
    const axis = axisArg(c, "axis");
    const g = pieces(c.outShapes, axis);
    return `// ${c.op.name}: split backward
${copyPieces(g, c.gx[0]!, c.gy, true, "+=")}`;
  },
};

// ── transpose ────────────────────────────────────────────────────────────────────────────────────────

/** [pre, A, mid, B, post] → [pre, B, mid, A, post]; the loops run in output order. */
function transposeCode(c: EmitCtx, backward: boolean): string {
  const shape = c.inShapes[0]!;
  let a = axisArg(c, "a");
  let b = axisArg(c, "b");
  if (a > b) [a, b] = [b, a];
  const size = c.inSizes[0]!;
  const title = `${c.op.name}: transpose(${a}, ${b}) ${show(shape)} → ${show(c.outShapes[0]!)}${backward ? " backward" : ""}`;
  const [src, dst] = backward ? [c.gy[0]!, c.gx[0]!] : [c.x[0]!, c.y[0]!];
  if (a === b) {
    return `// ${title}: a copy
for (let i = 0, e = n * ${size}; i < e; i++) ${dst}[i]${backward ? "! +=" : " ="} ${src}[i]!;`;
  }
  const pre = product(shape.slice(0, a));
  const A = shape[a]!;
  const mid = product(shape.slice(a + 1, b));
  const B = shape[b]!;
  const post = product(shape.slice(b + 1));
  const block = A * mid * B * post;
  const i: Loop = { v: "i", extent: A };
  const m: Loop = { v: "m", extent: mid };
  const j: Loop = { v: "j", extent: B };
  const q: Loop = { v: "q", extent: post };
  const xi = index("o", [
    [i, mid * B * post],
    [m, B * post],
    [j, post],
    [q, 1],
  ]);
  const yi = index("o", [
    [j, mid * A * post],
    [m, A * post],
    [i, post],
    [q, 1],
  ]);
  const body = backward ? `${dst}[${xi}]! += ${src}[${yi}]!;` : `${dst}[${yi}] = ${src}[${xi}]!;`;
  return `// ${title}
for (let r = 0; r < ${rows(pre)}; r++) {
  const o = r * ${block};
  ${nest([j, m, i, q], body)}
}`;
}

export const transpose: Kernel = {
  forward: (c) => transposeCode(c, false),
  backward: (c) => transposeCode(c, true),
};

// ── take and mean: one axis dropped ──────────────────────────────────────────────────────────────────

function reduced(c: EmitCtx) {
  const shape = c.inShapes[0]!;
  const axis = axisArg(c, "axis");
  return { shape, axis, pre: product(shape.slice(0, axis)), len: shape[axis]!, post: product(shape.slice(axis + 1)) };
}

/** `r * size (+ offset) (+ q)`: element `q` (absent: 0) of row `r` of a value whose rows have `size` elements. */
function row(r: string, size: number, q: string | undefined, offset = 0): string {
  return [size === 1 ? r : `${r} * ${size}`, ...(offset ? [String(offset)] : []), ...(q ? [q] : [])].join(" + ");
}

/** A loop over `q` < post around `body(q)`, or `body()` alone when post is 1. */
function inner(post: number, body: (q: string | undefined) => string): string {
  return post === 1 ? body(undefined) : `for (let q = 0; q < ${post}; q++) ${body("q")}`;
}

function takeIndex(c: EmitCtx): number {
  return resolvedInt(c.op, "index");
}

export const take: Kernel = {
  forward(c) {
    const { shape, axis, pre, len, post } = reduced(c);
    const k = takeIndex(c);
    return `// ${c.op.name}: take index ${k} of axis ${axis}, ${show(shape)} → ${show(c.outShapes[0]!)}
for (let r = 0; r < ${rows(pre)}; r++) {
  ${inner(post, (q) => `${c.y[0]}[${row("r", post, q)}] = ${c.x[0]}[${row("r", len * post, q, k * post)}]!;`)}
}`;
  },
  backward(c) {
    const { pre, len, post } = reduced(c);
    const k = takeIndex(c);
    return `// ${c.op.name}: take backward (the other positions get no gradient)
for (let r = 0; r < ${rows(pre)}; r++) {
  ${inner(post, (q) => `${c.gx[0]}[${row("r", len * post, q, k * post)}]! += ${c.gy[0]}[${row("r", post, q)}]!;`)}
}`;
  },
};

export const mean: Kernel = {
  forward(c) {
    const { shape, axis, pre, len, post } = reduced(c);
    return `// ${c.op.name}: mean over axis ${axis}, ${show(shape)} → ${show(c.outShapes[0]!)}
for (let r = 0; r < ${rows(pre)}; r++) {
  ${inner(
    post,
    (q) => `{
    let s = 0;
    for (let k = 0, i = ${row("r", len * post, q)}; k < ${len}; k++, i${post === 1 ? "++" : ` += ${post}`}) s += ${c.x[0]}[i]!;
    ${c.y[0]}[${row("r", post, q)}] = s / ${len};
  }`,
  )}
}`;
  },
  backward(c) {
    const { pre, len, post } = reduced(c);
    return `// ${c.op.name}: mean backward: every position gets 1/${len} of the gradient
for (let r = 0; r < ${rows(pre)}; r++) {
  ${inner(
    post,
    (q) => `{
    const g = ${c.gy[0]}[${row("r", post, q)}]! / ${len};
    for (let k = 0, i = ${row("r", len * post, q)}; k < ${len}; k++, i${post === 1 ? "++" : ` += ${post}`}) ${c.gx[0]}[i]! += g;
  }`,
  )}
}`;
  },
};

// ── pixel_shuffle ────────────────────────────────────────────────────────────────────────────────────

/** PyTorch's pixel_shuffle: y[c, h·r + i, w·r + j] = x[(c·r + i)·r + j, h, w], per sample. */
function pixelShuffleCode(c: EmitCtx, backward: boolean): string {
  const [Cin, H, W] = c.inShapes[0]! as [number, number, number];
  const r = c.args.int("upscale_factor");
  const C = Cin / (r * r);
  const size = c.inSizes[0]!;
  const [src, dst] = backward ? [c.gy[0]!, c.gx[0]!] : [c.x[0]!, c.y[0]!];
  const xi = `o + ((ch * ${r} + i) * ${r} + j) * ${H * W} + h * ${W} + w`;
  const yi = `o + (ch * ${H * r} + h * ${r} + i) * ${W * r} + w * ${r} + j`;
  const body = backward ? `${dst}[${xi}]! += ${src}[${yi}]!;` : `${dst}[${yi}] = ${src}[${xi}]!;`;
  return `// ${c.op.name}: pixel_shuffle(${r}) ${show(c.inShapes[0]!)} → ${show(c.outShapes[0]!)}${backward ? " backward" : ""}
for (let b = 0; b < n; b++) {
  const o = b * ${size};
  for (let ch = 0; ch < ${C}; ch++)
    for (let i = 0; i < ${r}; i++)
      for (let j = 0; j < ${r}; j++)
        for (let h = 0; h < ${H}; h++)
          for (let w = 0; w < ${W}; w++) ${body}
}`;
}

export const pixel_shuffle: Kernel = {
  forward: (c) => pixelShuffleCode(c, false),
  backward: (c) => pixelShuffleCode(c, true),
};

// ── upsample ─────────────────────────────────────────────────────────────────────────────────────────

/** PyTorch 1.13's nearest source index (aten/src/ATen/native/UpSample.h, `nearest_idx`): o when the sizes
 *  are equal, o >> 1 when the output is twice the input, else ⌊o · s⌋ in float32 arithmetic, s the float32
 *  1/scale_factor (a factor given) or in/out (a size given), capped at in − 1. */
function nearestSource(o: number, inSize: number, outSize: number, factor: number | undefined): number {
  if (outSize === inSize) return o;
  if (outSize === 2 * inSize) return o >> 1;
  const s = Math.fround(factor !== undefined ? 1 / factor : inSize / outSize);
  return Math.min(Math.floor(Math.fround(o * s)), inSize - 1);
}

/** Code for an axis' nearest source index: the simplest formula that gives PyTorch's index at every output
 *  position (checked here, at generation time), float32 arithmetic spelled out where nothing simpler does. */
function nearestIndexCode(o: string, inSize: number, outSize: number, factor: number | undefined): string {
  const want = Array.from({ length: outSize }, (_, i) => nearestSource(i, inSize, outSize, factor));
  const k = outSize / inSize;
  const candidates: [string, (i: number) => number][] = [
    [o, (i) => i],
    ...(Number.isInteger(k)
      ? [[`Math.floor(${o} / ${k})`, (i: number) => Math.floor(i / k)] as [string, (i: number) => number]]
      : []),
    [`Math.floor((${o} * ${inSize}) / ${outSize})`, (i) => Math.floor((i * inSize) / outSize)],
  ];
  for (const [code, f] of candidates) if (want.every((v, i) => f(i) === v)) return code;
  const s = Math.fround(factor !== undefined ? 1 / factor : inSize / outSize);
  return `Math.min(Math.floor(Math.fround(${o} * ${lit(s)})), ${inSize - 1})`;
}

/** nn.Upsample(mode = nearest): every output element copies its nearest source element (backward: adds its
 *  gradient there). */
function upsampleNearest(c: EmitCtx, backward: boolean): string {
  const inShape = c.inShapes[0]!;
  const outShape = c.outShapes[0]!;
  const rank = inShape.length - 1;
  const sfx = suffixes(rank);
  const factors = c.args.has("scale_factor") ? c.args.axes("scale_factor", rank) : undefined;
  const [src, dst] = backward ? [c.gy[0]!, c.gx[0]!] : [c.x[0]!, c.y[0]!];
  const C = inShape[0]!;
  const inPlane = c.inSizes[0]! / C;
  const loops = (j: number, base: string): string => {
    const s = sfx[j]!;
    const inSize = inShape[j + 1]!;
    const outSize = outShape[j + 1]!;
    const index = nearestIndexCode(`o${s}`, inSize, outSize, factors?.[j]);
    const stride = inShape.slice(j + 2).reduce((a, b) => a * b, 1);
    const at = stride === 1 ? `${base} + i${s}` : `${base} + i${s} * ${stride}`;
    const head = `for (let o${s} = 0; o${s} < ${outSize}; o${s}++${j === rank - 1 ? ", d++" : ""})`;
    if (j === rank - 1) {
      const body = backward ? `${dst}[${at}]! += ${src}[d]!;` : `${dst}[d] = ${src}[${at}]!;`;
      return `${head} {
  const i${s} = ${index};
  ${body}
}`;
    }
    const r = j === 0 ? "xr" : `xr${j}`;
    return `${head} {
  const i${s} = ${index};
  const ${r} = ${at};
  ${loops(j + 1, r)}
}`;
  };
  const how = factors ? `scale_factor ${factors.join("×")}` : `size ${show(outShape.slice(1))}`;
  return `// ${c.op.name}: upsample nearest (${how}) ${show(inShape)} → ${show(outShape)}${backward ? " backward: each output's gradient to its source" : ""}
for (let bc = 0, d = 0; bc < n * ${C}; bc++) {
  const xc = bc * ${inPlane};
  ${loops(0, "xc")}
}`;
}

/** One axis of a bilinear resize, as PyTorch 1.13 computes it in the tensor's precision (UpSample.h,
 *  `area_pixel_compute_scale`, `area_pixel_compute_source_index`, `guard_index_and_lambda`): the source
 *  coordinate, the two source indices and their weights. */
function bilinearAxis(s: string, inSize: number, outSize: number, factor: number | undefined, align: boolean): string {
  const scale = align
    ? outSize > 1
      ? (inSize - 1) / (outSize - 1)
      : 0
    : factor !== undefined
      ? 1 / factor
      : inSize / outSize;
  const source = align ? `${lit(scale)} * o${s}` : `Math.max(0, ${lit(scale)} * (o${s} + 0.5) - 0.5)`;
  return `const t${s} = ${source};
const i${s}0 = Math.min(Math.floor(t${s}), ${inSize - 1});
const i${s}1 = i${s}0 < ${inSize - 1} ? i${s}0 + 1 : i${s}0;
const l${s}1 = Math.min(Math.max(t${s} - i${s}0, 0), 1);
const l${s}0 = 1 - l${s}1;`;
}

/** nn.Upsample(mode = bilinear) on [C, H, W]: each output is the weighted sum of its four source neighbours
 *  (backward: its gradient spread to them by the same weights). */
function upsampleBilinear(c: EmitCtx, backward: boolean): string {
  const [C, H, W] = c.inShapes[0]! as [number, number, number];
  const [, OH, OW] = c.outShapes[0]! as [number, number, number];
  const factors = c.args.has("scale_factor") ? c.args.axes("scale_factor", 2) : undefined;
  const align = c.args.get("align_corners")?.kind === "bool" && c.args.bool("align_corners");
  const x = backward ? c.gx[0]! : c.x[0]!;
  const at = (h: string, w: string) => `${x}[xc + ${h === "ih0" ? "r0" : "r1"} + ${w}]`;
  const body = backward
    ? `const g = ${c.gy[0]}[d]!;
    ${at("ih0", "iw0")}! += lh0 * lw0 * g;
    ${at("ih0", "iw1")}! += lh0 * lw1 * g;
    ${at("ih1", "iw0")}! += lh1 * lw0 * g;
    ${at("ih1", "iw1")}! += lh1 * lw1 * g;`
    : `${c.y[0]}[d] = lh0 * (lw0 * ${at("ih0", "iw0")}! + lw1 * ${at("ih0", "iw1")}!) + lh1 * (lw0 * ${at("ih1", "iw0")}! + lw1 * ${at("ih1", "iw1")}!);`;
  const how = `${factors ? `scale_factor ${factors.join("×")}` : `size ${show([OH, OW])}`}${align ? ", align_corners" : ""}`;
  return `// ${c.op.name}: upsample bilinear (${how}) ${show(c.inShapes[0]!)} → ${show(c.outShapes[0]!)}${backward ? " backward: each output's gradient to its four sources" : ""}
for (let bc = 0, d = 0; bc < n * ${C}; bc++) {
  const xc = bc * ${H * W};
  for (let oh = 0; oh < ${OH}; oh++) {
    ${bilinearAxis("h", H, OH, factors?.[0], align)}
    const r0 = ih0 * ${W};
    const r1 = ih1 * ${W};
    for (let ow = 0; ow < ${OW}; ow++, d++) {
      ${bilinearAxis("w", W, OW, factors?.[1], align)}
      ${body}
    }
  }
}`;
}

export const upsample: Kernel = {
  forward: (c) => (c.args.name("mode") === "bilinear" ? upsampleBilinear(c, false) : upsampleNearest(c, false)),
  backward: (c) => (c.args.name("mode") === "bilinear" ? upsampleBilinear(c, true) : upsampleNearest(c, true)),
};

export const shapeKernels = { concat, split, transpose, take, mean, pixel_shuffle, upsample } satisfies KernelFamily;
