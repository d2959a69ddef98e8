// Normalizations, PyTorch's definitions throughout: batchnorm (BatchNorm1d/2d, channel axis 0 of the
// per-sample shape), groupnorm (GroupNorm), layernorm (LayerNorm over the last axis) and rmsnorm (RMSNorm over
// the last axis). Statistics are computed in two passes (mean, then squared deviations) in doubles.
//
// Each forward keeps what its backward needs in scratch arrays: the normalized values x̂ and the inverse
// standard deviation of every normalized group. With x̂ = (x − μ)·r, r = 1/√(σ² + ε) over a group of K
// values and y = w·x̂ + b, the input gradient is
//     dx = r · (d − mean(d) − x̂ · mean(d · x̂)),  d = w · dy,
// when μ and σ² are statistics of the values themselves (training-mode batchnorm, groupnorm, layernorm),
// and dx = r · w · dy when they are constants (eval-mode batchnorm with running statistics).
import type { EmitCtx, Kernel, KernelFamily } from "../kernel.js";
import { lit } from "../kernel.js";

// ── batchnorm ───────────────────────────────────────────────────────────────────────────────────────

function batchnormGeometry(c: EmitCtx) {
  const shape = c.inShapes[0]!;
  const C = shape[0]!;
  const S = c.inSizes[0]! / C;
  const affine = c.args.bool("affine");
  const track = c.args.bool("track_running_stats");
  return {
    C,
    S,
    eps: c.args.decimal("eps"),
    momentum: c.args.decimal("momentum"),
    W: affine ? c.param("weight") : -1,
    B: affine ? c.param("bias") : -1,
    track,
    RM: track ? c.buffer("running_mean") : -1,
    RV: track ? c.buffer("running_var") : -1,
    NB: track ? c.buffer("num_batches_tracked") : -1,
    // What backward needs (none in an inference build): x̂, the inverse std of every channel (only the
    // first C elements are used: scratch is sized per sample) and whether the last forward used batch
    // statistics (backward always runs with `training` true).
    xhat: c.inference ? "" : c.scratch("xhat", c.inSizes[0]!),
    istd: c.inference ? "" : c.scratch("istd", C),
    mode: track && !c.inference ? c.scratch("batchstats", 1) : "",
  };
}

function describeBatchnorm(c: EmitCtx, g: ReturnType<typeof batchnormGeometry>): string {
  const shape = c.inShapes[0]!;
  const spatial = shape.length === 1 ? "" : ` × ${shape.slice(1).join(" × ")} positions`;
  const parts = [
    `eps ${lit(g.eps)}`,
    g.W >= 0 ? "affine" : "no affine",
    g.track ? `running stats, momentum ${lit(g.momentum)}` : "no running stats",
  ];
  return `batchnorm over ${g.C} channels${spatial} per sample (${parts.join(", ")})`;
}

export const batchnorm: Kernel = {
  forward(c) {
    const g = batchnormGeometry(c);
    const { C, S, W, B } = g;
    const x = c.x[0]!;
    const y = c.y[0]!;
    const CS = C * S;
    const loop = (body: string) => `for (let b = 0; b < n; b++) {
        for (let i = b * ${CS} + ch * ${S}, e = i + ${S}; i < e; i++) ${body}
      }`;
    const batch = `let s = 0;
      ${loop(`s += ${x}[i]!;`)}
      m = s / count;
      let q = 0;
      ${loop(`{ const d = ${x}[i]! - m; q += d * d; }`)}
      v = q / count;`;
    // Batch statistics in training mode, and always when no running statistics are kept (PyTorch).
    const stats = g.track
      ? `if (batchStats) {
      ${batch}
      if (training) {
        // running statistics; the variance kept is the unbiased one, count / (count − 1) × the biased
        bf[${at(g.RM, "ch")}] = ${lit(1 - g.momentum)} * bf[${at(g.RM, "ch")}]! + ${lit(g.momentum)} * m;
        bf[${at(g.RV, "ch")}] = ${lit(1 - g.momentum)} * bf[${at(g.RV, "ch")}]! + ${lit(g.momentum)} * (q / (count - 1));
      }
    } else {
      m = bf[${at(g.RM, "ch")}]!;
      v = bf[${at(g.RV, "ch")}]!;
    }`
      : batch;
    const apply = `const h = (${x}[i]! - m) * r;${c.inference ? "" : `\n          ${g.xhat}[i] = h;`}
          ${y}[i] = h${W >= 0 ? " * w" : ""}${B >= 0 ? " + sh" : ""};`;
    return `// ${c.op.name}: ${describeBatchnorm(c, g)}
{
  const count = n * ${S};${g.track ? "\n  const batchStats = training;" : ""}
  if (training && count < 2) {
    throw new RangeError(\`${c.op.name}: batchnorm in training mode needs more than one value per channel, got \${count}\`);
  }
${g.mode ? `  ${g.mode}[0] = batchStats ? 1 : 0;\n` : ""}  for (let ch = 0; ch < ${C}; ch++) {
    let m: number;
    let v: number;
    ${stats}
    const r = 1 / Math.sqrt(v + ${lit(g.eps)});
    ${c.inference ? "" : `${g.istd}[ch] = r;`}${W >= 0 ? `\n    const w = p[${at(W, "ch")}]!;` : ""}${B >= 0 ? `\n    const sh = p[${at(B, "ch")}]!;` : ""}
    ${loop(`{
          ${apply}
        }`)}
  }${g.track ? `\n  if (training) bf[${g.NB}]! += 1;` : ""}
}`;
  },

  backward(c) {
    const g = batchnormGeometry(c);
    const { C, S, W, B } = g;
    const gy = c.gy[0]!;
    const gx = c.gx[0]!;
    const CS = C * S;
    const scale = W >= 0 ? `p[${at(W, "ch")}]! * ` : "";
    const loop = (body: string) => `for (let b = 0; b < n; b++) {
      for (let i = b * ${CS} + ch * ${S}, e = i + ${S}; i < e; i++) ${body}
    }`;
    const throughStats = `// batch statistics: the mean and variance depend on every value of the channel
      const a = sg / count;
      const bh = sgh / count;
      ${loop(`${gx}[i]! += k * (${gy}[i]! - a - ${g.xhat}[i]! * bh);`)}`;
    return `// ${c.op.name}: ${describeBatchnorm(c, g)}, backward
{
  const count = n * ${S};${g.track ? `\n  const batchStats = ${g.mode}[0]! === 1;` : ""}
  for (let ch = 0; ch < ${C}; ch++) {
    let sg = 0;
    let sgh = 0;
    ${loop(`{ const d = ${gy}[i]!; sg += d; sgh += d * ${g.xhat}[i]!; }`)}
    ${W >= 0 ? `gp[${at(W, "ch")}]! += sgh;` : ""}
    ${B >= 0 ? `gp[${at(B, "ch")}]! += sg;` : ""}
    const k = ${scale}${g.istd}[ch]!;
    ${g.track ? `if (batchStats) {\n${throughStats}\n} else {\n${loop(`${gx}[i]! += k * ${gy}[i]!;`)}\n}` : throughStats}
  }
}`;
  },
};

// ── groupnorm, layernorm: statistics per sample ─────────────────────────────────────────────────────

/**
 * Normalizes `G` consecutive runs of `K = Kc × S` values per sample, each run with its own statistics:
 * groupnorm (a run is one group: Kc channels × S positions, weight per channel) and layernorm (a run is one
 * row of the last axis: Kc = D elements, S = 1, weight per element).
 */
interface RunGeometry {
  readonly G: number;
  readonly Kc: number;
  readonly S: number;
  /** Weight elements before run `g`'s first one: `g * Kc` (groupnorm) or 0 (layernorm, every row uses all). */
  readonly perRunWeights: boolean;
  readonly eps: number;
  readonly W: number;
  readonly B: number;
  readonly xhat: string;
  readonly istd: string;
  readonly what: string;
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

/** `base + k` for a literal `base` (`k` when it is 0): the index of element k of a tensor in `p` or `bf`. */
function at(base: number, k: string): string {
  return base === 0 ? k : `${base} + ${k}`;
}

/** The code shared by a run's loops: where it starts, its inverse std's slot, its weight element `wk`. */
function runIndexing(geo: RunGeometry) {
  const K = geo.Kc * geo.S;
  const single = geo.G === 1;
  return {
    K,
    open: single ? "{" : `for (let g = 0; g < ${geo.G}; g++) {`,
    base: single ? `b * ${K}` : `(b * ${geo.G} + g) * ${K}`,
    slot: single ? "b" : `b * ${geo.G} + g`,
    wk: geo.perRunWeights && !single ? (geo.Kc === 1 ? "g" : `g * ${geo.Kc} + ch`) : "ch",
  };
}

/** `for` over the values of one run: `ch` the weight element, `j` the value's index; `body` per value. */
function runLoop(geo: RunGeometry, perChannel: (wk: string) => string, body: string): string {
  const { wk } = runIndexing(geo);
  const head = `for (let ch = 0, j = base; ch < ${geo.Kc}; ch++${geo.S === 1 ? ", j++" : ""}) {${perChannel(wk)}`;
  if (geo.S === 1)
    return `${head}
      ${body}
    }`;
  return `${head}
      for (let s = 0; s < ${geo.S}; s++, j++) {
        ${body}
      }
    }`;
}

function runKernel(geometry: (c: EmitCtx) => RunGeometry): Kernel {
  return {
    forward(c) {
      const geo = geometry(c);
      const ix = runIndexing(geo);
      const x = c.x[0]!;
      const y = c.y[0]!;
      const K = ix.K;
      const perChannel = (wk: string) =>
        (geo.W >= 0 ? `\n      const w = p[${at(geo.W, wk)}]!;` : "") +
        (geo.B >= 0 ? `\n      const sh = p[${at(geo.B, wk)}]!;` : "");
      return `// ${c.op.name}: ${geo.what}
for (let b = 0; b < n; b++) {
  ${ix.open}
    const base = ${ix.base};
    let s = 0;
    for (let j = base; j < base + ${K}; j++) s += ${x}[j]!;
    const m = s / ${K};
    let q = 0;
    for (let j = base; j < base + ${K}; j++) { const d = ${x}[j]! - m; q += d * d; }
    const r = 1 / Math.sqrt(q / ${K} + ${lit(geo.eps)});
    ${c.inference ? "" : `${geo.istd}[${ix.slot}] = r;`}
    ${runLoop(
      geo,
      perChannel,
      `const h = (${x}[j]! - m) * r;${c.inference ? "" : `\n        ${geo.xhat}[j] = h;`}
        ${y}[j] = h${geo.W >= 0 ? " * w" : ""}${geo.B >= 0 ? " + sh" : ""};`,
    )}
  }
}`;
    },
    backward(c) {
      const geo = geometry(c);
      const ix = runIndexing(geo);
      const gy = c.gy[0]!;
      const gx = c.gx[0]!;
      const K = ix.K;
      const perChannel = (wk: string) => (geo.W >= 0 ? `\n      const w = p[${at(geo.W, wk)}]!;` : "");
      const d = geo.W >= 0 ? `${gy}[j]! * w` : `${gy}[j]!`;
      const paramGrads = [
        geo.W >= 0 ? `gp[${at(geo.W, ix.wk)}]! += ${gy}[j]! * h;` : "",
        geo.B >= 0 ? `gp[${at(geo.B, ix.wk)}]! += ${gy}[j]!;` : "",
      ]
        .filter(Boolean)
        .join("\n        ");
      return `// ${c.op.name}: ${geo.what}, backward
for (let b = 0; b < n; b++) {
  ${ix.open}
    const base = ${ix.base};
    const r = ${geo.istd}[${ix.slot}]!;
    let sd = 0;
    let sdh = 0;
    ${runLoop(
      geo,
      perChannel,
      `const d = ${d};
        const h = ${geo.xhat}[j]!;
        sd += d;
        sdh += d * h;${paramGrads ? `\n        ${paramGrads}` : ""}`,
    )}
    const a = sd / ${K};
    const bh = sdh / ${K};
    ${runLoop(geo, perChannel, `${gx}[j]! += r * (${d} - a - ${geo.xhat}[j]! * bh);`)}
  }
}`;
    },
  };
}

/** Groupnorm's runs with `G` groups: groupnorm's own, or instancenorm's, one group per channel (PyTorch's
 *  InstanceNorm is GroupNorm with num_groups = C, the same statistics, weight and bias per channel). */
function groupRuns(c: EmitCtx, G: number, kind: string): RunGeometry {
  const shape = c.inShapes[0]!;
  const C = shape[0]!;
  const S = c.inSizes[0]! / C;
  const affine = c.args.bool("affine");
  const eps = c.args.decimal("eps");
  const spatial = shape.length === 1 ? "" : ` × ${shape.slice(1).join(" × ")} positions`;
  const groups =
    kind === "instancenorm" ? plural(C, "channel") : `${plural(G, "group")} of ${plural(C / G, "channel")}`;
  return {
    G,
    Kc: C / G,
    S,
    perRunWeights: true,
    eps,
    W: affine ? c.param("weight") : -1,
    B: affine ? c.param("bias") : -1,
    xhat: c.inference ? "" : c.scratch("xhat", c.inSizes[0]!),
    istd: c.inference ? "" : c.scratch("istd", G),
    what: `${kind}, ${groups}${spatial} per sample (eps ${lit(eps)}${affine ? ", affine" : ""})`,
  };
}

export const groupnorm = runKernel((c) => groupRuns(c, c.args.int("groups"), "groupnorm"));

export const instancenorm = runKernel((c) => groupRuns(c, c.inShapes[0]![0]!, "instancenorm"));

export const layernorm = runKernel((c) => {
  const shape = c.inShapes[0]!;
  const D = shape[shape.length - 1]!;
  const rows = c.inSizes[0]! / D;
  const affine = c.args.bool("affine");
  const bias = affine && c.args.bool("bias");
  const eps = c.args.decimal("eps");
  return {
    G: rows,
    Kc: D,
    S: 1,
    perRunWeights: false,
    eps,
    W: affine ? c.param("weight") : -1,
    B: bias ? c.param("bias") : -1,
    xhat: c.inference ? "" : c.scratch("xhat", c.inSizes[0]!),
    istd: c.inference ? "" : c.scratch("istd", rows),
    what: `layernorm over the last axis, ${plural(rows, "row")} of ${D} per sample (eps ${lit(eps)}${affine ? (bias ? ", weight and bias" : ", weight, no bias") : ""})`,
  };
});

/** RMSNorm: y = x · r · w, r = 1/√(mean(x²) + ε) over the last axis; r is kept per row. */
export const rmsnorm: Kernel = {
  forward(c) {
    const shape = c.inShapes[0]!;
    const D = shape[shape.length - 1]!;
    const rows = c.inSizes[0]! / D;
    const eps = c.args.decimal("eps");
    const W = c.args.bool("affine") ? c.param("weight") : -1;
    const rs = c.inference ? "" : c.scratch("rms", rows);
    const x = c.x[0]!;
    const y = c.y[0]!;
    return `// ${c.op.name}: rmsnorm over the last axis, ${plural(rows, "row")} of ${D} per sample (eps ${lit(eps)}${W >= 0 ? ", weight" : ""})
for (let row = 0, e = n * ${rows}; row < e; row++) {
  const base = row * ${D};
  let q = 0;
  for (let j = 0; j < ${D}; j++) { const v = ${x}[base + j]!; q += v * v; }
  const r = 1 / Math.sqrt(q / ${D} + ${lit(eps)});
  ${rs ? `${rs}[row] = r;` : ""}
  for (let j = 0; j < ${D}; j++) ${y}[base + j] = ${x}[base + j]! * r${W >= 0 ? ` * p[${at(W, "j")}]!` : ""};
}`;
  },
  backward(c) {
    const shape = c.inShapes[0]!;
    const D = shape[shape.length - 1]!;
    const rows = c.inSizes[0]! / D;
    const W = c.args.bool("affine") ? c.param("weight") : -1;
    const rs = c.scratch("rms", rows);
    const x = c.x[0]!;
    const gy = c.gy[0]!;
    const gx = c.gx[0]!;
    const d = W >= 0 ? `${gy}[base + j]! * p[${at(W, "j")}]!` : `${gy}[base + j]!`;
    return `// ${c.op.name}: rmsnorm backward: dx = r·d − x·r³·mean(d·x), d = w·dy
for (let row = 0, e = n * ${rows}; row < e; row++) {
  const base = row * ${D};
  const r = ${rs}[row]!;
  let s = 0;
  for (let j = 0; j < ${D}; j++) {
    const v = ${x}[base + j]!;
    s += ${d} * v;
    ${W >= 0 ? `gp[${at(W, "j")}]! += ${gy}[base + j]! * v * r;` : ""}
  }
  const k = (r * r * r * s) / ${D};
  for (let j = 0; j < ${D}; j++) ${gx}[base + j]! += r * ${d} - ${x}[base + j]! * k;
}`;
  },
};

export const normKernels = { batchnorm, groupnorm, instancenorm, layernorm, rmsnorm } satisfies KernelFamily;
