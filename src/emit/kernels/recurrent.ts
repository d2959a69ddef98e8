// Recurrent layers, PyTorch's definitions throughout (nn.RNN, nn.LSTM, nn.GRU with batch_first inputs):
//
//   rnn   h' = act(W_ih x + b_ih + W_hh h + b_hh),   act = tanh or relu
//   lstm  i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh), the four gate blocks in that order
//         c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c'), or with proj_size P > 0 h' = W_hr (o ⊙ tanh(c')) of size P
//   gru   r, z = σ of (W_ih x + b_ih + W_hh h + b_hh), first two gate blocks
//         n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h
//         or with reset_after = false (Keras's option; Cho et al. 2014, arXiv 1406.1078v3) the reset gate
//         before the product: n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
//
// The initial states are zero. Layer l reads the output sequence of layer l − 1; a bidirectional layer runs
// a forward direction (positions 0 … T−1) and a reverse one (T−1 … 0) on the same input and writes
// [forward, reverse] at every position. With the keras bias convention (rnn and lstm) one vector `bias`
// takes the place of b_ih + b_hh; keras GRU (reset_after) keeps two vectors, as PyTorch does.
//
// Output: with `sequences` (the default) every position of the last layer, [T, H·dirs]. Without it
// [H·dirs], PyTorch's h_n of the last layer with its directions concatenated: the forward direction's
// state after position T−1 and the reverse direction's state after its last step, which is position 0
// (`torch.cat([h_n[-2], h_n[-1]], -1)` for a bidirectional layer, `h_n[-1]` otherwise), not output[T−1].
//
// Forward keeps, per sample, every layer's output sequence (`seq`, which also holds each step's state
// h), the per-step gate activations (`gates`: lstm i, f, g, o; gru r, z, n and W_hn h + b_hn) and the lstm
// cell states (`cell`); backward is backpropagation through time over them, last processed step first, the
// last layer first. Its temporaries (the gradient of every layer's output sequence, the carried state
// gradients and one step's pre-activation gradients) live in the first per-sample slot of `work`.
import type { EmitCtx, Kernel, KernelFamily } from "../kernel.js";
import {
  type Projection,
  hiddenBackward,
  hiddenBackwardFits,
  hiddenSetup,
  hiddenStep,
  projectBackward,
  projectBackwardSetup,
  projectForward,
} from "../wasm/recurrent.js";

type Cell = "rnn" | "lstm" | "gru";

const GATES: Readonly<Record<Cell, number>> = { rnn: 1, lstm: 4, gru: 3 };

/** One direction of one layer: where its tensors are in `p` (biases −1 when absent). */
interface Direction {
  readonly l: number;
  /** 0 forward, 1 reverse. */
  readonly d: number;
  readonly suffix: string;
  /** Input size of the layer. */
  readonly IN: number;
  readonly WI: number;
  readonly WH: number;
  /** bias_ih, or keras's single bias. */
  readonly BI: number;
  /** bias_hh (−1 with one bias or none). */
  readonly BH: number;
  /** weight_hr, lstm's projection (−1 without one). */
  readonly WR: number;
  readonly biasNames: string;
}

function geometry(c: EmitCtx, cell: Cell) {
  const shape = c.inShapes[0]!;
  const T = shape[0]!;
  const D = shape[1]!;
  const H = c.args.int("hidden");
  const L = c.args.int("layers");
  const dirs = c.args.bool("bidirectional") ? 2 : 1;
  const G = GATES[cell];
  const GH = G * H;
  // lstm's proj_size P: the state h (what W_hh reads and the layer outputs) has R = P elements, else H.
  const P = cell === "lstm" ? c.args.int("proj_size") : 0;
  const R = P > 0 ? P : H;
  const HD = R * dirs;
  const relu = cell === "rnn" && c.args.name("nonlinearity") === "relu";
  // gru's reset_after = false: the reset gate multiplies h before W_hn (the n block's slot 3H keeps r ⊙ h).
  const resetBefore = cell === "gru" && !c.args.bool("reset_after");
  const sequences = c.args.bool("sequences");
  const directions: Direction[] = [];
  for (let l = 0; l < L; l++) {
    for (let d = 0; d < dirs; d++) {
      const suffix = `_l${l}${d === 1 ? "_reverse" : ""}`;
      const two = c.hasParam(`bias_ih${suffix}`);
      const one = c.hasParam(`bias${suffix}`);
      directions.push({
        l,
        d,
        suffix,
        IN: l === 0 ? D : HD,
        WI: c.param(`weight_ih${suffix}`),
        WH: c.param(`weight_hh${suffix}`),
        BI: two ? c.param(`bias_ih${suffix}`) : one ? c.param(`bias${suffix}`) : -1,
        BH: two ? c.param(`bias_hh${suffix}`) : -1,
        WR: P > 0 ? c.param(`weight_hr${suffix}`) : -1,
        biasNames: two ? `bias_ih${suffix} + bias_hh${suffix}` : one ? `bias${suffix}` : "no bias",
      });
    }
  }
  // Per-step gate slots kept for backward: lstm i, f, g, o; gru r, z, n, W_hn h + b_hn; rnn none (h is in seq).
  const GS = cell === "rnn" ? 0 : 4 * H;
  const SEQ = L * T * HD;
  // work: [dseq: SEQ][dh: H][dc: H][dp: pre-activation gradients of one step, 4H (gru: r, z, n_x, n_h)]
  const DP = cell === "rnn" ? H : 4 * H;
  return {
    cell,
    T,
    D,
    H,
    L,
    dirs,
    G,
    GH,
    P,
    R,
    HD,
    GS,
    SEQ,
    relu,
    resetBefore,
    sequences,
    directions,
    seq: c.scratch("seq", SEQ),
    gates: GS > 0 ? c.scratch("gates", L * dirs * T * GS) : "",
    cells: cell === "lstm" ? c.scratch("cell", L * dirs * T * H) : "",
    work: c.scratch("work", SEQ + 2 * H + DP),
    DH: SEQ,
    DC: SEQ + H,
    DP: SEQ + 2 * H,
  };
}

type Geometry = ReturnType<typeof geometry>;

/** `base + k` for a literal base (just `k` when it is 0). */
function at(base: number, k: string): string {
  return base === 0 ? k : `${base} + ${k}`;
}

/** `e + k` / `e - k` / `e` for a literal k. */
function plus(e: string, k: number): string {
  return k === 0 ? e : k > 0 ? `${e} + ${k}` : `${e} - ${-k}`;
}

function describe(c: EmitCtx, g: Geometry): string {
  const what =
    g.cell === "lstm"
      ? `lstm, gates i, f, g, o${g.P > 0 ? `, h projected to ${g.P} by weight_hr` : ""}`
      : g.cell === "gru"
        ? g.resetBefore
          ? "gru, gates r, z, n (n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), the reset before the product)"
          : "gru, gates r, z, n (n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)))"
        : `rnn, ${g.relu ? "relu" : "tanh"}`;
  const layers = `${g.L} layer${g.L === 1 ? "" : "s"}${g.dirs === 2 ? ", bidirectional" : ""}`;
  const out = g.sequences
    ? `output [${g.T}, ${g.HD}]`
    : `output [${g.HD}]: h_n of the last layer${g.dirs === 2 ? " (forward after position " + (g.T - 1) + ", reverse after position 0)" : ""}`;
  return `${c.op.name}: ${what}; ${layers}; input [${g.T}, ${g.D}], hidden ${g.H}; ${out}`;
}

function directionName(g: Geometry, r: Direction): string {
  return `layer ${r.l}${g.dirs === 2 ? (r.d === 0 ? ", forward direction" : ", reverse direction") : ""}`;
}

/** The position `t` of processing step `s` and the offsets of one step, shared by forward and backward. */
function stepOffsets(g: Geometry, r: Direction, backward: boolean, projected = false): string {
  const { T, HD, H, GS } = g;
  const hp = plus(`hb + t * ${HD}`, r.d === 0 ? -HD : HD);
  const lines = [`const t = ${r.d === 0 ? "s" : `${T - 1} - s`};`];
  // A projected direction reads its input through the projection alone.
  if (!projected) lines.push(`const xi = xb + t * ${r.IN}; // this position of the layer's input`);
  // Backward reads h_t itself only for rnn (the nonlinearity's derivative from its output).
  if (!backward || g.cell === "rnn") {
    lines.push(
      `const ho = hb + t * ${HD}; // its output h_t`,
      `const hp = ${plus("ho", r.d === 0 ? -HD : HD)}; // the previous step's state h (when s > 0)`,
    );
  } else {
    lines.push(`const hp = ${hp}; // the previous step's state h (when s > 0)`);
  }
  if (GS > 0) lines.push(`const go = gb + t * ${GS};`);
  if (g.cell === "lstm") lines.push(`const co = cb + t * ${H};`, `const cp = ${plus("co", r.d === 0 ? -H : H)};`);
  return lines.join("\n    ");
}

/** The block's bases for sample b: input, output (this direction's half), gates, cells. */
function blockBases(g: Geometry, r: Direction, x: string): { input: string; lines: string } {
  const { T, HD, H, GS, dirs } = g;
  const input = r.l === 0 ? x : g.seq;
  const lines = [
    `const xb = ${r.l === 0 ? `b * ${T * g.D}` : plus("sq", (r.l - 1) * T * HD)};`,
    `const hb = ${plus("sq", r.l * T * HD + r.d * g.R)};`,
  ];
  const k = r.l * dirs + r.d;
  if (GS > 0) lines.push(`const gb = ${plus("gq", k * T * GS)};`);
  if (g.cell === "lstm") lines.push(`const cb = ${plus("cq", k * T * H)};`);
  return { input, lines: lines.join("\n  ") };
}

function header(g: Geometry, r: Direction): string {
  const hr = r.WR >= 0 ? `, weight_hr${r.suffix} [${g.P}, ${g.H}] at ${r.WR}` : "";
  return `// ${directionName(g, r)}: weight_ih${r.suffix} [${g.GH}, ${r.IN}] at ${r.WI}, weight_hh${r.suffix} [${g.GH}, ${g.R}] at ${r.WH}, ${r.biasNames}${r.BI >= 0 ? ` at ${r.BI}${r.BH >= 0 ? `, ${r.BH}` : ""}` : ""}${hr}`;
}

/** The input projection of a direction on the WebAssembly target (kernel `k`): rows of the layer's input,
 *  outputs into the gate slots (lstm, gru: `gates`, 4H apart) or, for rnn, the output slots of `seq`. */
function projection(c: EmitCtx, g: Geometry, r: Direction, x: string, k: number): Projection {
  return {
    k,
    dtype: c.options.dtype,
    T: g.T,
    IN: r.IN,
    GH: g.GH,
    W: r.WI,
    B: r.BI,
    input: r.l === 0 ? x : g.seq,
    inputBase: "xb",
  };
}

/** Where the projection of a direction lands: array, base (of blockBases) and row stride. */
function projected(g: Geometry): { dest: string; base: string; stride: number; read: string } {
  return g.cell === "rnn"
    ? { dest: g.seq, base: "hb", stride: g.HD, read: `${g.seq}[ho + j]!` }
    : { dest: g.gates, base: "gb", stride: g.GS, read: `${g.gates}[go + j]!` };
}

/** A direction's forward: its bases, then the step loop; with `proj`, two branches: on the arena the input
 *  projection of every position first (SIMD), and the steps read it; else the TypeScript steps alone. */
function forwardBlock(g: Geometry, r: Direction, x: string, proj?: Projection): string {
  const { lines } = blockBases(g, r, x);
  if (!proj) {
    return `${header(g, r)}
{
  ${lines}
  ${forwardSteps(g, r, x, false)}
}`;
  }
  const { dest, base, stride } = projected(g);
  return `${header(g, r)}
{
  ${lines}
  if (arena) {
    ${projectForward(proj, dest, base, stride).replace(/\n/g, "\n    ")}${proj.hidden ? `\n    ${hiddenSetup(proj).replace(/\n/g, "\n    ")}` : ""}
    ${forwardSteps(g, r, x, true, proj).replace(/\n/g, "\n    ")}
  } else {
    ${forwardSteps(g, r, x, false).replace(/\n/g, "\n    ")}
  }
}`;
}

/** The step loop of a direction's forward; `fromProjection`: W_ih x + b_ih is already in place (projected). */
function forwardSteps(g: Geometry, r: Direction, x: string, fromProjection: boolean, proj?: Projection): string {
  const { H, GH, T } = g;
  const { input } = blockBases(g, r, x);
  const seq = g.seq;
  const sig = (e: string) => `1 / (1 + Math.exp(-${e}))`;
  const ihLoop = fromProjection
    ? ""
    : `for (let i = 0, w = ${at(r.WI, `j * ${r.IN}`)}; i < ${r.IN}; i++, w++) ax += p[w]! * ${input}[xi + i]!;`;
  const hhLoop = proj?.hidden
    ? "if (s > 0) ah += hheap[hy + j]!;"
    : `if (s > 0) for (let k = 0, w = ${at(r.WH, `j * ${g.R}`)}; k < ${g.R}; k++, w++) ah += p[w]! * ${seq}[hp + k]!;`;
  const bI = fromProjection ? projected(g).read : r.BI >= 0 ? `p[${at(r.BI, "j")}]!` : "0";
  const bH = r.BH >= 0 ? `p[${at(r.BH, "j")}]!` : "0";
  let body: string;
  if (g.cell === "rnn") {
    body = `for (let j = 0; j < ${H}; j++) {
      let ax = ${bI};
      let ah = ${bH};
      ${ihLoop}
      ${hhLoop}
      const a = ax + ah;
      ${seq}[ho + j] = ${g.relu ? "a > 0 ? a : 0" : "Math.tanh(a)"};
    }`;
  } else if (g.cell === "lstm") {
    body = `// pre-activations of the four gates, W_ih x + W_hh h + biases
    for (let j = 0; j < ${GH}; j++) {
      let ax = ${bI};
      let ah = ${bH};
      ${ihLoop}
      ${hhLoop}
      ${g.gates}[go + j] = ax + ah;
    }
    // i, f, g, o; c = f ⊙ c_prev + i ⊙ g; h = ${r.WR >= 0 ? "W_hr (o ⊙ tanh(c))" : "o ⊙ tanh(c)"}${r.WR >= 0 ? `\n    for (let q = 0; q < ${g.R}; q++) ${seq}[ho + q] = 0;` : ""}
    for (let k = 0; k < ${H}; k++) {
      const ig = ${sig(`${g.gates}[go + k]!`)};
      const fg = ${sig(`${g.gates}[go + ${H} + k]!`)};
      const gg = Math.tanh(${g.gates}[go + ${2 * H} + k]!);
      const og = ${sig(`${g.gates}[go + ${3 * H} + k]!`)};
      ${g.gates}[go + k] = ig;
      ${g.gates}[go + ${H} + k] = fg;
      ${g.gates}[go + ${2 * H} + k] = gg;
      ${g.gates}[go + ${3 * H} + k] = og;
      const cv = (s > 0 ? fg * ${g.cells}[cp + k]! : 0) + ig * gg;
      ${g.cells}[co + k] = cv;
      ${
        r.WR >= 0
          ? `const m = og * Math.tanh(cv);
      for (let q = 0, w = ${at(r.WR, "k")}; q < ${g.R}; q++, w += ${H}) ${seq}[ho + q]! += p[w]! * m;`
          : `${seq}[ho + k] = og * Math.tanh(cv);`
      }
    }`;
  } else if (g.resetBefore) {
    body = `// r, z: σ(W_ih x + b_ih + W_hh h + b_hh); the n block keeps W_in x + b_in${r.BH >= 0 ? " + b_hn" : ""}
    for (let j = 0; j < ${GH}; j++) {
      let ax = ${bI};
      let ah = ${bH};
      ${ihLoop}
      if (j < ${2 * H}) {
        ${hhLoop}
        ${g.gates}[go + j] = ${sig("(ax + ah)")};
      } else ${g.gates}[go + j] = ax + ah;
    }
    // r ⊙ h_prev, kept for backward
    for (let k = 0; k < ${H}; k++) ${g.gates}[go + ${3 * H} + k] = s > 0 ? ${g.gates}[go + k]! * ${seq}[hp + k]! : 0;
    // n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn); h = (1 − z) ⊙ n + z ⊙ h_prev
    for (let k = 0; k < ${H}; k++) {
      let a = ${g.gates}[go + ${2 * H} + k]!;
      for (let q = 0, w = ${at(r.WH, `${2 * H * H} + k * ${H}`)}; q < ${H}; q++, w++) a += p[w]! * ${g.gates}[go + ${3 * H} + q]!;
      const ng = Math.tanh(a);
      const zg = ${g.gates}[go + ${H} + k]!;
      ${g.gates}[go + ${2 * H} + k] = ng;
      ${seq}[ho + k] = (1 - zg) * ng + (s > 0 ? zg * ${seq}[hp + k]! : 0);
    }`;
  } else {
    body = `// r, z: σ(W_ih x + b_ih + W_hh h + b_hh); the n block keeps W_in x + b_in and W_hn h + b_hn apart
    for (let j = 0; j < ${GH}; j++) {
      let ax = ${bI};
      let ah = ${bH};
      ${ihLoop}
      ${hhLoop}
      if (j < ${2 * H}) ${g.gates}[go + j] = ${sig("(ax + ah)")};
      else {
        ${g.gates}[go + j] = ax;
        ${g.gates}[go + ${H} + j] = ah;
      }
    }
    // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h = (1 − z) ⊙ n + z ⊙ h_prev
    for (let k = 0; k < ${H}; k++) {
      const rg = ${g.gates}[go + k]!;
      const zg = ${g.gates}[go + ${H} + k]!;
      const ng = Math.tanh(${g.gates}[go + ${2 * H} + k]! + rg * ${g.gates}[go + ${3 * H} + k]!);
      ${g.gates}[go + ${2 * H} + k] = ng;
      ${seq}[ho + k] = (1 - zg) * ng + (s > 0 ? zg * ${seq}[hp + k]! : 0);
    }`;
  }
  const loop = `for (let s = 0; s < ${T}; s++) {
    ${stepOffsets(g, r, false, fromProjection)}${proj?.hidden ? `\n    ${hiddenStep(proj, seq)}` : ""}
    ${body}
  }`;
  // Without the W_ih loop its line is left empty, and ax is read, not summed.
  return fromProjection ? loop.replace(/\n\s*\n/g, "\n").replace(/\blet ax = /g, "const ax = ") : loop;
}

/** A direction's backward; with `proj`, two branches: on the arena the W_ih side runs as SIMD products over
 *  CHUNK positions of collected gate gradients (`dx`: whether the model input's gradient is wanted), else
 *  the TypeScript steps alone. */
function backwardBlock(g: Geometry, r: Direction, x: string, gx: string, proj?: Projection, dx = "true"): string {
  const { lines } = blockBases(g, r, x);
  const head = `${header(g, r)}: backward`;
  if (!proj)
    return `${head}
{
  ${lines}
  ${backwardSteps(g, r, x, gx)}
}`;
  return `${head}
{
  ${lines}
  if (arena) {
    ${projectBackwardSetup(proj)}
    ${backwardSteps(g, r, x, gx, proj, r.l === 0 ? dx : "true")}
  } else {
    ${backwardSteps(g, r, x, gx)}
  }
}`;
}

/** The step loop of a direction's backward (after zeroing the carried gradients). */
function backwardSteps(g: Geometry, r: Direction, x: string, gx: string, proj?: Projection, dx = "true"): string {
  const { H, GH, T, HD } = g;
  const { input } = blockBases(g, r, x);
  const { seq, work, gates, cells, DH, DC, DP } = g;
  // Where this layer's input gradient accumulates: the model input's gradient, or the previous layer's
  // output gradient in work.
  const gin = r.l === 0 ? gx : work;
  const gxi = r.l === 0 ? "xi" : "xi - sq";
  // dseq of this layer's output at position t for this direction: work[DS + t·HD + d·H + k]
  const dy = at(r.l * T * HD + r.d * g.R, `t * ${HD}`);
  let cellBody: string;
  if (g.cell === "rnn") {
    cellBody = `// through the nonlinearity
    for (let k = 0; k < ${H}; k++) {
      const dh = ${work}[${at(DH, "k")}]! + ${work}[dy + k]!;
      const h = ${seq}[ho + k]!;
      ${work}[${at(DP, "k")}] = ${g.relu ? "h > 0 ? dh : 0" : "dh * (1 - h * h)"};
      ${work}[${at(DH, "k")}] = 0;
    }`;
  } else if (g.cell === "lstm" && r.WR >= 0) {
    cellBody = `// through the projection h = W_hr m, m = o ⊙ tanh(c): dW_hr += dh mᵀ, dm = W_hrᵀ dh (dh of ${g.R} first gathered)
    for (let q = 0; q < ${g.R}; q++) ${work}[${at(DH, "q")}]! += ${work}[dy + q]!;
    // through the cell: dc = dc_next + dm ⊙ o ⊙ (1 − tanh²c); gate pre-activation gradients
    for (let k = 0; k < ${H}; k++) {
      const og = ${gates}[go + ${3 * H} + k]!;
      const tc = Math.tanh(${cells}[co + k]!);
      const m = og * tc;
      let dh = 0;
      for (let q = 0, w = ${at(r.WR, "k")}; q < ${g.R}; q++, w += ${H}) {
        const d = ${work}[${at(DH, "q")}]!;
        gp[w]! += d * m;
        dh += p[w]! * d;
      }
      const ig = ${gates}[go + k]!;
      const fg = ${gates}[go + ${H} + k]!;
      const gg = ${gates}[go + ${2 * H} + k]!;
      const dc = ${work}[${at(DC, "k")}]! + dh * og * (1 - tc * tc);
      ${work}[${at(DP, "k")}] = dc * gg * ig * (1 - ig);
      ${work}[${at(DP + H, "k")}] = s > 0 ? dc * ${cells}[cp + k]! * fg * (1 - fg) : 0;
      ${work}[${at(DP + 2 * H, "k")}] = dc * ig * (1 - gg * gg);
      ${work}[${at(DP + 3 * H, "k")}] = dh * tc * og * (1 - og);
      ${work}[${at(DC, "k")}] = dc * fg;
    }
    for (let q = 0; q < ${g.R}; q++) ${work}[${at(DH, "q")}] = 0;`;
  } else if (g.cell === "lstm") {
    cellBody = `// through the cell: dc = dc_next + dh ⊙ o ⊙ (1 − tanh²c); gate pre-activation gradients
    for (let k = 0; k < ${H}; k++) {
      const dh = ${work}[${at(DH, "k")}]! + ${work}[dy + k]!;
      const ig = ${gates}[go + k]!;
      const fg = ${gates}[go + ${H} + k]!;
      const gg = ${gates}[go + ${2 * H} + k]!;
      const og = ${gates}[go + ${3 * H} + k]!;
      const tc = Math.tanh(${cells}[co + k]!);
      const dc = ${work}[${at(DC, "k")}]! + dh * og * (1 - tc * tc);
      ${work}[${at(DP, "k")}] = dc * gg * ig * (1 - ig);
      ${work}[${at(DP + H, "k")}] = s > 0 ? dc * ${cells}[cp + k]! * fg * (1 - fg) : 0;
      ${work}[${at(DP + 2 * H, "k")}] = dc * ig * (1 - gg * gg);
      ${work}[${at(DP + 3 * H, "k")}] = dh * tc * og * (1 - og);
      ${work}[${at(DC, "k")}] = dc * fg;
      ${work}[${at(DH, "k")}] = 0;
    }`;
  } else if (g.resetBefore) {
    cellBody = `// through h = (1 − z) ⊙ n + z ⊙ h_prev: the gradients of n's and z's pre-activations; h_prev gets z ⊙ dh
    for (let k = 0; k < ${H}; k++) {
      const dh = ${work}[${at(DH, "k")}]! + ${work}[dy + k]!;
      const zg = ${gates}[go + ${H} + k]!;
      const ng = ${gates}[go + ${2 * H} + k]!;
      const hprev = s > 0 ? ${seq}[hp + k]! : 0;
      ${work}[${at(DP + H, "k")}] = dh * (hprev - ng) * zg * (1 - zg);
      ${work}[${at(DP + 2 * H, "k")}] = dh * (1 - zg) * (1 - ng * ng);
      ${work}[${at(DH, "k")}] = dh * zg;
    }${
      r.BH >= 0
        ? `
    for (let k = 0; k < ${H}; k++) gp[${at(r.BH + 2 * H, "k")}]! += ${work}[${at(DP + 2 * H, "k")}]!; // b_hn`
        : ""
    }
    // through W_hn (r ⊙ h): dW_hn += dn (r ⊙ h)ᵀ, d(r ⊙ h) = W_hnᵀ dn, then r's pre-activation and h_prev
    for (let k = 0; k < ${H}; k++) {
      const rh = ${gates}[go + ${3 * H} + k]!;
      let drh = 0;
      for (let q = 0, w = ${at(r.WH, `${2 * H * H} + k`)}; q < ${H}; q++, w += ${H}) {
        const dn = ${work}[${at(DP + 2 * H, "q")}]!;
        gp[w]! += dn * rh;
        drh += p[w]! * dn;
      }
      const rg = ${gates}[go + k]!;
      const hprev = s > 0 ? ${seq}[hp + k]! : 0;
      ${work}[${at(DP, "k")}] = drh * hprev * rg * (1 - rg);
      ${work}[${at(DH, "k")}]! += drh * rg;
    }`;
  } else {
    cellBody = `// through h = (1 − z) ⊙ n + z ⊙ h_prev and n = tanh(n_x + r ⊙ n_h): gradients of the pre-activations
    // r, z, n_x = W_in x + b_in, n_h = W_hn h + b_hn; h_prev gets z ⊙ dh directly
    for (let k = 0; k < ${H}; k++) {
      const dh = ${work}[${at(DH, "k")}]! + ${work}[dy + k]!;
      const rg = ${gates}[go + k]!;
      const zg = ${gates}[go + ${H} + k]!;
      const ng = ${gates}[go + ${2 * H} + k]!;
      const nh = ${gates}[go + ${3 * H} + k]!;
      const hprev = s > 0 ? ${seq}[hp + k]! : 0;
      const dn = dh * (1 - zg) * (1 - ng * ng);
      ${work}[${at(DP, "k")}] = dn * nh * rg * (1 - rg);
      ${work}[${at(DP + H, "k")}] = dh * (hprev - ng) * zg * (1 - zg);
      ${work}[${at(DP + 2 * H, "k")}] = dn;
      ${work}[${at(DP + 3 * H, "k")}] = dn * rg;
      ${work}[${at(DH, "k")}] = dh * zg;
    }`;
  }
  // The W_hh side reads the pre-activation gradients at j, except gru's n block, which reads n_h's.
  // With the reset before the product, the n block's W_hh rows were handled with the cell (they read r ⊙ h).
  const hhRows = g.resetBefore ? 2 * H : GH;
  const dpH =
    g.cell === "gru" ? `${work}[j < ${2 * H} ? ${at(DP, "j")} : ${at(DP + H, "j")}]!` : `${work}[${at(DP, "j")}]!`;
  const ihSide = proj
    ? projectBackward(proj, work, String(DP), gin, r.l === 0 ? "xb" : "xb - sq", dx, r.d === 0)
    : `// W_ih side: dW_ih += dp xᵀ, db += dp, dx += W_ihᵀ dp
    for (let j = 0; j < ${GH}; j++) {
      const d = ${work}[${at(DP, "j")}]!;
      if (d === 0) continue;${r.BI >= 0 ? `\n      gp[${at(r.BI, "j")}]! += d;` : ""}
      for (let i = 0, w = ${at(r.WI, `j * ${r.IN}`)}; i < ${r.IN}; i++, w++) {
        gp[w]! += d * ${input}[xi + i]!;
        ${gin}[${gxi} + i]! += d * p[w]!;
      }
    }`;
  const tsHidden = `// W_hh side: dW_hh += dp h_prevᵀ, db_hh += dp, dh_prev += W_hhᵀ dp${g.resetBefore ? " (the r and z rows)" : ""}
    for (let j = 0; j < ${hhRows}; j++) {
      const d = ${dpH};
      if (d === 0) continue;${r.BH >= 0 ? `\n      gp[${at(r.BH, "j")}]! += d;` : ""}
      if (s > 0) {
        for (let k = 0, w = ${at(r.WH, `j * ${g.R}`)}; k < ${g.R}; k++, w++) {
          gp[w]! += d * ${seq}[hp + k]!;
          ${work}[${at(DH, "k")}]! += d * p[w]!;
        }
      }
    }`;
  return `${work}.fill(0, ${DH}, ${DP}); // carried dh${g.cell === "lstm" ? ", dc" : ""}: zero after the last step
  for (let s = ${T - 1}; s >= 0; s--) {
    ${stepOffsets(g, r, true, proj !== undefined)}
    const dy = ${dy}; // this output's gradient from above in work
    ${cellBody}
    ${ihSide}
    ${proj && hiddenBackwardFits(proj) ? hiddenBackward(proj, dpH, hhRows, r.BH, seq, work, DH) : tsHidden}
  }`;
}

/** With the WebAssembly target, a direction's input projection on the dense kernels of shape IN → G·H, when
 *  its weight has more than the unroll limit's multiply–adds per position, the dense layers' hand-over (at
 *  the test sizes, IN 3 and G·H 20, the SIMD projection's staging made a forward 5–6× slower; at IN 32 and
 *  G·H 256 it is 1.3–1.4× faster: bench/wasm-recurrent.mjs, docs/performance.md). */
function wasmProjection(c: EmitCtx, g: Geometry, r: Direction, x: string): Projection | undefined {
  if (!c.wasmDense || r.IN * g.GH <= c.options.unrollLimit) return undefined;
  const proj = projection(c, g, r, x, c.wasmDense(r.IN, g.GH, r.BI >= 0, false));
  // The hidden-to-hidden product of the forward steps too, under the same hand-over (R · G·H).
  if (g.R * g.GH <= c.options.unrollLimit) return proj;
  return { ...proj, hidden: { k: c.wasmDense(g.R, g.GH, false, false), WH: r.WH, R: g.R } };
}

function recurrentKernel(cell: Cell): Kernel {
  return {
    forward(c) {
      const g = geometry(c, cell);
      const x = c.x[0]!;
      const y = c.y[0]!;
      const { T, HD, H, R, SEQ, L } = g;
      const top = (L - 1) * T * HD;
      const output = g.sequences
        ? `// output: the last layer's sequence
  for (let i = 0; i < ${T * HD}; i++) ${y}[b * ${T * HD} + i] = ${g.seq}[${plus("sq", top)} + i]!;`
        : `// output: h_n of the last layer, the forward direction after position ${T - 1}${g.dirs === 2 ? ", then the reverse direction after position 0" : ""}
  for (let k = 0; k < ${R}; k++) {
    ${y}[b * ${HD} + k] = ${g.seq}[${plus("sq", top + (T - 1) * HD)} + k]!;${g.dirs === 2 ? `\n    ${y}[b * ${HD} + ${R} + k] = ${g.seq}[${plus("sq", top + R)} + k]!;` : ""}
  }`;
      return `// ${describe(c, g)}
for (let b = 0; b < n; b++) {
  const sq = b * ${SEQ}; // this sample's layer outputs in ${g.seq}${g.GS > 0 ? `\n  const gq = b * ${L * g.dirs * T * g.GS};` : ""}${cell === "lstm" ? `\n  const cq = b * ${L * g.dirs * T * H};` : ""}
  ${g.directions
    .map((r) => forwardBlock(g, r, x, wasmProjection(c, g, r, x)))
    .join("\n")
    .replace(/\n/g, "\n  ")}
  ${output}
}`;
    },

    backward(c) {
      const g = geometry(c, cell);
      const x = c.x[0]!;
      const gx = c.gx[0]!;
      const gy = c.gy[0]!;
      const { T, HD, H, R, SEQ, L, work } = g;
      const top = (L - 1) * T * HD;
      const fromOutput = g.sequences
        ? `for (let i = 0; i < ${T * HD}; i++) ${work}[${at(top, "i")}] = ${gy}[b * ${T * HD} + i]!;`
        : `for (let k = 0; k < ${R}; k++) {
    ${work}[${at(top + (T - 1) * HD, "k")}] = ${gy}[b * ${HD} + k]!;${g.dirs === 2 ? `\n    ${work}[${at(top + R, "k")}] = ${gy}[b * ${HD} + ${R} + k]!;` : ""}
  }`;
      const blocks = [...g.directions]
        .reverse()
        .map((r) => backwardBlock(g, r, x, gx, wasmProjection(c, g, r, x), c.gxWanted[0]));
      return `// ${describe(c, g)}; backward: backpropagation through time, the last layer first
for (let b = 0; b < n; b++) {
  const sq = b * ${SEQ};${g.GS > 0 ? `\n  const gq = b * ${L * g.dirs * T * g.GS};` : ""}${cell === "lstm" ? `\n  const cq = b * ${L * g.dirs * T * H};` : ""}
  // gradients of every layer's output sequence, work[0, ${SEQ}): the last layer's from the output
  ${work}.fill(0, 0, ${SEQ});
  ${fromOutput}
  ${blocks.join("\n").replace(/\n/g, "\n  ")}
}`;
    },
  };
}

export const recurrentKernels = {
  rnn: recurrentKernel("rnn"),
  lstm: recurrentKernel("lstm"),
  gru: recurrentKernel("gru"),
} satisfies KernelFamily;
