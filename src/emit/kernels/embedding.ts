// Embeddings and positions, PyTorch's definitions:
// - embedding (nn.Embedding): token ids → rows of a [num, dim] table. Forward gathers one row per id;
//   backward adds each id's output gradient to that id's row only (a sparse update: no pass over the whole
//   table), skips `padding_idx` (PyTorch leaves that row's gradient at zero) and passes nothing to the ids.
//   The module range-checks every id against the vocabulary before any op runs, so rows are never read out
//   of bounds here.
// - positional: a learned [max, dim] table, row t added to position t of a [T, dim] sequence (T ≤ max);
//   rows T..max − 1 are unused and get no gradient.
// - class_token: a learned [1, 1, dim] vector prepended to the sequence, [T, dim] → [T + 1, dim] (ViT).
// - parameter: a learned tensor copied to every sample's output; its gradient sums the batch's.
// - rotary: no parameters; rotates the pairs (i, i + D/2) of the last axis of position t by the angle
//   t · θ^(−2i/D) (the GPT-NeoX / Llama "rotate half" convention):
//       (lo, hi) → (lo·cos − hi·sin, hi·cos + lo·sin),  lo at i, hi at i + D/2,
//   and backward applies the transposed rotation to the output gradient.
import type { EmitCtx, Kernel, KernelFamily } from "../kernel.js";
import { lit } from "../kernel.js";

/** `base + k` for a literal `base` (`k` when it is 0). */
function at(base: number, k: string): string {
  return base === 0 ? k : `${base} + ${k}`;
}

const opName = (c: EmitCtx) => c.op.name || c.op.kind;

// ── embedding ───────────────────────────────────────────────────────────────────────────────────────

function embeddingGeometry(c: EmitCtx) {
  const num = c.args.int("num");
  const D = c.args.int("dim");
  const pad = c.args.get("padding_idx");
  return {
    num,
    D,
    /** Ids per sample. */
    S: c.inSizes[0]!,
    W: c.param("weight"),
    padding: pad?.kind === "int" ? Number(pad.value) : -1,
  };
}

function describeEmbedding(c: EmitCtx, g: ReturnType<typeof embeddingGeometry>): string {
  const shape = c.inShapes[0]!;
  return `${opName(c)}: embedding, table ${g.num} × ${g.D} at p[${g.W}]; [${shape.join(", ")}] ids per sample → [${[...shape, g.D].join(", ")}]${
    g.padding >= 0 ? `, padding_idx ${g.padding}` : ""
  }`;
}

export const embedding: Kernel = {
  forward(c) {
    const g = embeddingGeometry(c);
    const ids = c.x[0]!;
    const y = c.y[0]!;
    return `// ${describeEmbedding(c, g)}: one row copied per id
for (let r = 0, e = n * ${g.S}, yo = 0; r < e; r++, yo += ${g.D}) {
  const w = ${at(g.W, `${ids}[r]! * ${g.D}`)};
  for (let d = 0; d < ${g.D}; d++) ${y}[yo + d] = p[w + d]!;
}`;
  },

  backward(c) {
    const g = embeddingGeometry(c);
    const ids = c.x[0]!;
    const gy = c.gy[0]!;
    // No input gradient: the ids are integers (their gradient array exists but is never written).
    return `// ${describeEmbedding(c, g)}, backward: each id's output gradient is added to its own row only${
      g.padding >= 0 ? ` (the padding row gets none)` : ""
    }
for (let r = 0, e = n * ${g.S}, yo = 0; r < e; r++, yo += ${g.D}) {
  const id = ${ids}[r]!;${g.padding >= 0 ? `\n  if (id === ${g.padding}) continue;` : ""}
  const w = ${at(g.W, `id * ${g.D}`)};
  for (let d = 0; d < ${g.D}; d++) gp[w + d]! += ${gy}[yo + d]!;
}`;
  },
};

// ── positional ──────────────────────────────────────────────────────────────────────────────────────

function sequence(c: EmitCtx) {
  const shape = c.inShapes[0]!;
  const T = shape[0]!;
  const D = shape[1]!;
  return { T, D, size: T * D };
}

export const positional: Kernel = {
  forward(c) {
    const { T, D, size } = sequence(c);
    const max = c.args.int("max");
    const P = c.param("weight");
    const x = c.x[0]!;
    const y = c.y[0]!;
    // Position t of a sample is row t: the first T rows of the table are one contiguous run of T × D.
    return `// ${opName(c)}: positional, table ${max} × ${D} at p[${P}]; rows 0..${T - 1} added to the ${T} positions of [${T}, ${D}]
for (let o = 0, e = n * ${size}; o < e; o += ${size}) {
  for (let j = 0; j < ${size}; j++) ${y}[o + j] = ${x}[o + j]! + p[${at(P, "j")}]!;
}`;
  },

  backward(c) {
    const { T, D, size } = sequence(c);
    const P = c.param("weight");
    const gy = c.gy[0]!;
    const gx = c.gx[0]!;
    return `// ${opName(c)}: positional backward: dx += dy, rows 0..${T - 1} of the table (${D} wide) += Σ over the batch of dy
for (let o = 0, e = n * ${size}; o < e; o += ${size}) {
  for (let j = 0; j < ${size}; j++) {
    const d = ${gy}[o + j]!;
    ${gx}[o + j]! += d;
    gp[${at(P, "j")}]! += d;
  }
}`;
  },
};

// ── class_token ─────────────────────────────────────────────────────────────────────────────────────

export const class_token: Kernel = {
  forward(c) {
    const { T, D, size } = sequence(c);
    const W = c.param("weight");
    const x = c.x[0]!;
    const y = c.y[0]!;
    return `// ${opName(c)}: class token, a learned vector of ${D} at p[${W}] prepended: [${T}, ${D}] → [${T + 1}, ${D}]
for (let b = 0, xo = 0, yo = 0; b < n; b++, xo += ${size}, yo += ${size + D}) {
  for (let d = 0; d < ${D}; d++) ${y}[yo + d] = p[${at(W, "d")}]!;
  for (let j = 0; j < ${size}; j++) ${y}[yo + ${D} + j] = ${x}[xo + j]!;
}`;
  },

  backward(c) {
    const { T, D, size } = sequence(c);
    const W = c.param("weight");
    const gy = c.gy[0]!;
    const gx = c.gx[0]!;
    return `// ${opName(c)}: class token backward: the vector gets position 0's gradient summed over the batch, positions 1..${T} go to dx
for (let b = 0, xo = 0, yo = 0; b < n; b++, xo += ${size}, yo += ${size + D}) {
  for (let d = 0; d < ${D}; d++) gp[${at(W, "d")}]! += ${gy}[yo + d]!;
  for (let j = 0; j < ${size}; j++) ${gx}[xo + j]! += ${gy}[yo + ${D} + j]!;
}`;
  },
};

// ── parameter ───────────────────────────────────────────────────────────────────────────────────────

export const parameter: Kernel = {
  forward(c) {
    const W = c.param("weight");
    const size = c.outSizes[0]!;
    const y = c.y[0]!;
    return `// ${opName(c)}: a learned tensor [${c.outShapes[0]!.join(", ")}] at p[${W}], the same for every sample (the input is not read)
for (let b = 0, yo = 0; b < n; b++, yo += ${size}) {
  for (let j = 0; j < ${size}; j++) ${y}[yo + j] = p[${at(W, "j")}]!;
}`;
  },

  backward(c) {
    const W = c.param("weight");
    const size = c.outSizes[0]!;
    const gy = c.gy[0]!;
    return `// ${opName(c)}: learned tensor backward: its gradient is the output gradient summed over the batch; the input gets none
for (let b = 0, yo = 0; b < n; b++, yo += ${size}) {
  for (let j = 0; j < ${size}; j++) gp[${at(W, "j")}]! += ${gy}[yo + j]!;
}`;
  },
};

// ── rotary ──────────────────────────────────────────────────────────────────────────────────────────

/** The loops shared by both directions: per position t and pair i, its angle, then every sample's pair
 *  (lo at j, hi at j + D/2). The angles do not depend on the sample, so each is computed once per call. */
function rotaryLoops(c: EmitCtx, body: string): string {
  const { T, D, size } = sequence(c);
  const half = D / 2;
  const theta = c.args.decimal("theta");
  return `for (let t = 0; t < ${T}; t++) {
  for (let i = 0; i < ${half}; i++) {
    const angle = t / Math.pow(${lit(theta)}, (2 * i) / ${D});
    const cs = Math.cos(angle);
    const sn = Math.sin(angle);
    for (let j = t * ${D} + i, e = n * ${size}; j < e; j += ${size}) {
      ${body}
    }
  }
}`;
}

function describeRotary(c: EmitCtx): string {
  const { T, D } = sequence(c);
  return `${opName(c)}: rotary positions on [${T}, ${D}], pairs (i, i + ${D / 2}) of position t rotated by t · θ^(−2i/${D}), θ = ${lit(c.args.decimal("theta"))}`;
}

export const rotary: Kernel = {
  forward(c) {
    const half = sequence(c).D / 2;
    const x = c.x[0]!;
    const y = c.y[0]!;
    return `// ${describeRotary(c)}: (lo, hi) → (lo·cos − hi·sin, hi·cos + lo·sin)
${rotaryLoops(
  c,
  `const lo = ${x}[j]!;
      const hi = ${x}[j + ${half}]!;
      ${y}[j] = lo * cs - hi * sn;
      ${y}[j + ${half}] = hi * cs + lo * sn;`,
)}`;
  },

  backward(c) {
    const half = sequence(c).D / 2;
    const gy = c.gy[0]!;
    const gx = c.gx[0]!;
    return `// ${describeRotary(c)}, backward: the transposed rotation, (lo, hi) → (lo·cos + hi·sin, hi·cos − lo·sin)
${rotaryLoops(
  c,
  `const lo = ${gy}[j]!;
      const hi = ${gy}[j + ${half}]!;
      ${gx}[j]! += lo * cs + hi * sn;
      ${gx}[j + ${half}]! += hi * cs - lo * sn;`,
)}`;
  },
};

export const embeddingKernels = { embedding, positional, class_token, parameter, rotary } satisfies KernelFamily;
