// Convolutions: conv1d/2d/3d and conv_transpose1d/2d, PyTorch semantics (cross-correlation, no kernel flip;
// conv weight [out, in/groups, k…], transposed-conv weight [in, out/groups, k…]; `same` padding puts the odd
// extra cell at the end, as PyTorch does).
//
// Both kinds relate a "small" grid to a "big" one, position by position along each spatial axis:
//
//     big = small · stride − pad + k · dilation        (k = 0 … kernel − 1)
//
// A convolution reads the big grid (its input) and writes the small one (its output); a transposed
// convolution is the other way round. Its weight is [small channels, big channels / groups, k…] in both
// cases. So three generators cover all six passes, and every output element or weight gradient is a sum
// kept in a local double, written once:
// - `windows`: small ← Σ big · w, a window per small position, clipped to the big grid (conv forward,
//   transposed-conv input gradient);
// - `spread`: big ← Σ small · w over the small positions whose window covers it (transposed-conv forward,
//   conv input gradient);
// - `weightGrad`: w ← Σ over the batch and the small positions of small · big (both kinds).
// Geometry is literal in the generated code; a window clip is emitted only on an axis where some window
// can leave the grid (padding, or a window hanging past the end).
import type { EmitCtx, Kernel, KernelFamily } from "../kernel.js";
import { resolvedInts } from "../kernel.js";
import { type ConvShape, convScratch } from "../wasm/conv.js";
import type { ColumnAxis } from "../wasm/im2col.js";

/** One spatial axis of a convolution's geometry (the WebAssembly column kernels' `ColumnAxis`), with the
 *  suffix of its loop variables in the generated TypeScript: `d`, `h`, `w`, or none for 1d. */
interface Axis extends ColumnAxis {
  readonly sfx: string;
}

/** What the generated code calls each side: position and channel variable prefixes. */
interface Names {
  readonly smallPos: string;
  readonly bigPos: string;
  readonly smallCh: string;
  readonly bigCh: string;
}

interface Geometry {
  readonly axes: readonly Axis[];
  readonly smallChannels: number;
  readonly bigChannels: number;
  readonly groups: number;
  /** Offset of the weight in `p` / `gp`. */
  readonly weight: number;
  readonly names: Names;
  /** Elements per sample on each side. */
  readonly smallSize: number;
  readonly bigSize: number;
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** `v · k` as code, `v` parenthesized if it is not a plain name. */
export function times(v: string, k: number): string {
  if (k === 0 || v === "0") return "0";
  if (k === 1) return v;
  return /^[\w.]+$/.test(v) ? `${v} * ${k}` : `(${v}) * ${k}`;
}

/** A sum as code: numbers folded into one constant, zero terms dropped; a term written `-x` is subtracted. */
export function plus(...terms: (string | number)[]): string {
  let k = 0;
  let s = "";
  for (const t of terms) {
    if (typeof t === "number") k += t;
    else if (t !== "0") s += s === "" ? t : t.startsWith("-") ? ` - ${t.slice(1)}` : ` + ${t}`;
  }
  if (s === "") return String(k);
  if (k > 0) s += ` + ${k}`;
  else if (k < 0) s += ` - ${-k}`;
  return s;
}

/** Some window starts before the big grid. */
const clipsLow = (a: Axis): boolean => a.pad > 0;
/** Some window ends after the big grid. */
const clipsHigh = (a: Axis): boolean => (a.small - 1) * a.stride - a.pad + (a.k - 1) * a.dil > a.big - 1;

/** Elements after one step along axis `j` (row-major). */
const strideOf = (sizes: readonly number[], j: number): number => prod(sizes.slice(j + 1));

// ── small ← Σ big · w ────────────────────────────────────────────────────────────────────────────────

function windows(g: Geometry, dst: string, src: string, bias: number, assign: boolean): string {
  const { axes, names: N } = g;
  const r = axes.length;
  const SG = g.smallChannels / g.groups;
  const BG = g.bigChannels / g.groups;
  const bigSizes = axes.map((a) => a.big);
  const kSizes = axes.map((a) => a.k);
  const BP = prod(bigSizes);
  const SP = prod(axes.map((a) => a.small));
  const KK = prod(kSizes);
  const i0 = (a: Axis) => `${N.bigPos}${a.sfx}0`;
  const lo = (a: Axis) => (clipsLow(a) ? `k${a.sfx}Lo` : "0");
  const hi = (a: Axis) => (clipsHigh(a) ? `k${a.sfx}Hi` : String(a.k));

  const kernelLoops = (j: number, xBase: string, wBase: string): string => {
    const a = axes[j]!;
    const k = `k${a.sfx}`;
    const head = `for (let ${k} = ${lo(a)}; ${k} < ${hi(a)}; ${k}++)`;
    if (j === r - 1) return `${head} acc += ${src}[${plus(xBase, times(k, a.dil))}]! * p[${plus(wBase, k)}]!;`;
    const next = axes[j + 1]!;
    const xr = j === 0 ? "sr" : `sr${j}`;
    const wr = j === 0 ? "wr" : `wr${j}`;
    const row = plus(
      xBase,
      times(plus(i0(a), times(k, a.dil)), strideOf(bigSizes, j)),
      j + 1 === r - 1 ? i0(next) : "0",
    );
    return `${head} {
  const ${xr} = ${row};
  const ${wr} = ${plus(wBase, times(k, strideOf(kSizes, j)))};
  ${kernelLoops(j + 1, xr, wr)}
}`;
  };

  const positionLoops = (j: number): string => {
    if (j === r) {
      const first = r === 1 ? plus("sc", i0(axes[0]!)) : "sc";
      return `let acc = ${bias >= 0 ? "bias" : "0"};
for (let ${N.bigCh} = 0; ${N.bigCh} < ${BG}; ${N.bigCh}++) {
  const sc = ${plus("s0", times(N.bigCh, BP))};
  const wc = ${plus("w0", times(N.bigCh, KK))};
  ${kernelLoops(0, first, "wc")}
}
${dst}[d]${assign ? " =" : "! +="} acc;`;
    }
    const a = axes[j]!;
    const o = `${N.smallPos}${a.sfx}`;
    const lines = [`const ${i0(a)} = ${plus(times(o, a.stride), -a.pad)};`];
    if (clipsLow(a)) {
      const first = a.dil === 1 ? `-${i0(a)}` : `Math.ceil(-${i0(a)} / ${a.dil})`;
      lines.push(`const k${a.sfx}Lo = Math.max(0, ${first});`);
    }
    if (clipsHigh(a)) {
      const last = a.dil === 1 ? `${a.big} - ${i0(a)}` : `Math.floor((${a.big - 1} - ${i0(a)}) / ${a.dil}) + 1`;
      lines.push(`const k${a.sfx}Hi = Math.min(${a.k}, ${last});`);
    }
    return `for (let ${o} = 0; ${o} < ${a.small}; ${o}++${j === r - 1 ? ", d++" : ""}) {
${lines.join("\n")}
${positionLoops(j + 1)}
}`;
  };

  const group = g.groups > 1 ? ` + Math.floor(${N.smallCh} / ${SG}) * ${BG * BP}` : "";
  return `for (let b = 0; b < n; b++) {
  for (let ${N.smallCh} = 0; ${N.smallCh} < ${g.smallChannels}; ${N.smallCh}++) {
    const s0 = b * ${g.bigSize}${group};
    const w0 = ${plus(String(g.weight), times(N.smallCh, BG * KK))};${bias >= 0 ? `\n    const bias = p[${plus(String(bias), N.smallCh)}]!;` : ""}
    let d = ${plus(`b * ${g.smallSize}`, times(N.smallCh, SP))};
    ${positionLoops(0)}
  }
}`;
}

// ── big ← Σ small · w ────────────────────────────────────────────────────────────────────────────────

function spread(g: Geometry, dst: string, src: string, bias: number, assign: boolean): string {
  const { axes, names: N } = g;
  const r = axes.length;
  const SG = g.smallChannels / g.groups;
  const BG = g.bigChannels / g.groups;
  const smallSizes = axes.map((a) => a.small);
  const kSizes = axes.map((a) => a.k);
  const BP = prod(axes.map((a) => a.big));
  const SP = prod(smallSizes);
  const KK = prod(kSizes);

  // For big position i, t = i + pad; kernel index k reaches it from small position (t − k·dil) / stride
  // when that is a whole number in [0, small).
  const kernelLoops = (j: number, sBase: string, wBase: string): string => {
    const a = axes[j]!;
    const k = `k${a.sfx}`;
    const u = `u${a.sfx}`;
    const head = `for (let ${k} = k${a.sfx}Lo; ${k} < k${a.sfx}Hi; ${k}++)`;
    const check = a.stride > 1 ? `\nif (${u} % ${a.stride} !== 0) continue;` : "";
    const at = a.stride > 1 ? `${u} / ${a.stride}` : u;
    const sAt = plus(sBase, times(at, strideOf(smallSizes, j)));
    const wAt = plus(wBase, times(k, strideOf(kSizes, j)));
    const uLine = `const ${u} = ${plus(`t${a.sfx}`, `-${times(k, a.dil)}`)};`;
    if (j === r - 1) {
      return `${head} {
  ${uLine}${check}
  const si = ${sAt};
  const wi = ${wAt};
  for (let ${N.smallCh} = 0; ${N.smallCh} < ${SG}; ${N.smallCh}++) acc += ${src}[${plus("si", times(N.smallCh, SP))}]! * p[${plus("wi", times(N.smallCh, BG * KK))}]!;
}`;
    }
    const sr = j === 0 ? "sr" : `sr${j}`;
    const wr = j === 0 ? "wr" : `wr${j}`;
    return `${head} {
  ${uLine}${check}
  const ${sr} = ${sAt};
  const ${wr} = ${wAt};
  ${kernelLoops(j + 1, sr, wr)}
}`;
  };

  const positionLoops = (j: number): string => {
    if (j === r) {
      return `let acc = ${bias >= 0 ? "bias" : "0"};
${kernelLoops(0, "s0", "w0")}
${dst}[d]${assign ? " =" : "! +="} acc;`;
    }
    const a = axes[j]!;
    const i = `${N.bigPos}${a.sfx}`;
    const t = `t${a.sfx}`;
    const reach = (a.small - 1) * a.stride;
    const first = a.dil === 1 ? plus(t, -reach) : `Math.ceil((${plus(t, -reach)}) / ${a.dil})`;
    const last = a.dil === 1 ? `${t} + 1` : `Math.floor(${t} / ${a.dil}) + 1`;
    return `for (let ${i} = 0; ${i} < ${a.big}; ${i}++${j === r - 1 ? ", d++" : ""}) {
const ${t} = ${plus(i, a.pad)};
const k${a.sfx}Lo = Math.max(0, ${first});
const k${a.sfx}Hi = Math.min(${a.k}, ${last});
${positionLoops(j + 1)}
}`;
  };

  const bigCh = N.bigCh;
  const setup =
    g.groups > 1
      ? `const g = Math.floor(${bigCh} / ${BG});
    const s0 = b * ${g.smallSize} + g * ${SG * SP};
    const w0 = ${plus(String(g.weight), `g * ${SG * BG * KK}`, `(${bigCh} - g * ${BG}) * ${KK}`)};`
      : `const s0 = b * ${g.smallSize};
    const w0 = ${plus(String(g.weight), times(bigCh, KK))};`;
  return `for (let b = 0; b < n; b++) {
  for (let ${bigCh} = 0; ${bigCh} < ${g.bigChannels}; ${bigCh}++) {
    ${setup}${bias >= 0 ? `\n    const bias = p[${plus(String(bias), bigCh)}]!;` : ""}
    let d = ${plus(`b * ${g.bigSize}`, times(bigCh, BP))};
    ${positionLoops(0)}
  }
}`;
}

// ── w ← Σ small · big ────────────────────────────────────────────────────────────────────────────────

function weightGrad(g: Geometry, smallArr: string, bigArr: string): string {
  const { axes, names: N } = g;
  const r = axes.length;
  const SG = g.smallChannels / g.groups;
  const BG = g.bigChannels / g.groups;
  const bigSizes = axes.map((a) => a.big);
  const smallSizes = axes.map((a) => a.small);
  const BP = prod(bigSizes);
  const SP = prod(smallSizes);
  const KK = prod(axes.map((a) => a.k));
  const lo = (a: Axis) => (clipsLow(a) ? `${N.smallPos}${a.sfx}Lo` : "0");
  const hi = (a: Axis) => (clipsHigh(a) ? `${N.smallPos}${a.sfx}Hi` : String(a.small));
  // big offset of kernel tap k along an axis: k·dil − pad
  const tap = (a: Axis) => plus(times(`k${a.sfx}`, a.dil), -a.pad);

  const positionLoops = (j: number, sBase: string, bBase: string): string => {
    const a = axes[j]!;
    const o = `${N.smallPos}${a.sfx}`;
    const head = `for (let ${o} = ${lo(a)}; ${o} < ${hi(a)}; ${o}++)`;
    if (j === r - 1) {
      return `${head} acc += ${smallArr}[${plus(sBase, o)}]! * ${bigArr}[${plus(bBase, times(o, a.stride))}]!;`;
    }
    const sr = j === 0 ? "sr" : `sr${j}`;
    const br = j === 0 ? "br" : `br${j}`;
    const next = axes[j + 1]!;
    return `${head} {
  const ${sr} = ${plus(sBase, times(o, strideOf(smallSizes, j)))};
  const ${br} = ${plus(bBase, times(plus(times(o, a.stride), tap(a)), strideOf(bigSizes, j)), j + 1 === r - 1 ? tap(next) : "0")};
  ${positionLoops(j + 1, sr, br)}
}`;
  };

  const kernelLoops = (j: number): string => {
    if (j === r) {
      const bigStart = r === 1 ? plus("bc", tap(axes[0]!)) : "bc";
      return `let acc = 0;
for (let b = 0; b < n; b++) {
  const sc = ${plus(`b * ${g.smallSize}`, times(N.smallCh, SP))};
  const bc = ${plus(`b * ${g.bigSize}`, g.groups > 1 ? "g0" : "0", times(N.bigCh, BP))};
  ${positionLoops(0, "sc", bigStart)}
}
gp[wi]! += acc;`;
    }
    const a = axes[j]!;
    const k = `k${a.sfx}`;
    const o = `${N.smallPos}${a.sfx}`;
    const lines: string[] = [];
    // small positions whose tap k lands inside the big grid: 0 ≤ o·stride + k·dil − pad < big
    if (clipsLow(a)) {
      const from = plus(String(a.pad), `-${times(k, a.dil)}`);
      lines.push(`const ${o}Lo = Math.max(0, ${a.stride === 1 ? from : `Math.ceil((${from}) / ${a.stride})`});`);
    }
    if (clipsHigh(a)) {
      const to =
        a.stride === 1
          ? `${a.big + a.pad} - ${times(k, a.dil)}`
          : `Math.floor((${a.big - 1 + a.pad} - ${times(k, a.dil)}) / ${a.stride}) + 1`;
      lines.push(`const ${o}Hi = Math.min(${a.small}, ${to});`);
    }
    return `for (let ${k} = 0; ${k} < ${a.k}; ${k}++${j === r - 1 ? ", wi++" : ""}) {
${lines.join("\n")}
${kernelLoops(j + 1)}
}`;
  };

  const group = g.groups > 1 ? `\n  const g0 = Math.floor(${N.smallCh} / ${SG}) * ${BG * BP};` : "";
  return `for (let ${N.smallCh} = 0; ${N.smallCh} < ${g.smallChannels}; ${N.smallCh}++) {${group}
  for (let ${N.bigCh} = 0; ${N.bigCh} < ${BG}; ${N.bigCh}++) {
    let wi = ${plus(String(g.weight), times(plus(times(N.smallCh, BG), N.bigCh), KK))};
    ${kernelLoops(0)}
  }
}`;
}

/** Bias gradient: the sum of the output gradient over the batch and the positions of each channel. */
function biasGrad(gy: string, bias: number, channels: number, plane: number, sampleSize: number): string {
  return `for (let c = 0; c < ${channels}; c++) {
  let acc = 0;
  for (let b = 0; b < n; b++) {
    for (let i = b * ${sampleSize} + c * ${plane}, e = i + ${plane}; i < e; i++) acc += ${gy}[i]!;
  }
  gp[${bias} + c]! += acc;
}`;
}

// ── the kernels ──────────────────────────────────────────────────────────────────────────────────────

/** Per-axis values of an integer-or-list option. */
function perAxis(c: EmitCtx, name: string, rank: number): number[] {
  return rank === 1 ? [c.args.int(name)] : c.args.axes(name, rank);
}

/** The loop-variable suffixes of a rank's spatial axes. */
export const suffixes = (rank: number): string[] => (rank === 1 ? [""] : rank === 2 ? ["h", "w"] : ["d", "h", "w"]);

const fmt = (xs: readonly number[]): string => (xs.every((x) => x === xs[0]) ? String(xs[0]) : `[${xs.join(", ")}]`);
const shape = (xs: readonly number[]): string => `[${xs.join(", ")}]`;

/** The im2col layout of one sample and group: every (output position, input channel, kernel offset) with
 *  the input element it reads and, where some window can leave the input, the test that it is inside. */
function im2colLoops(g: Geometry, body: (inside: string | undefined, index: string) => string): string {
  const icPerGroup = g.bigChannels / g.groups;
  const bigPlane = prod(g.axes.map((a) => a.big));
  const open = g.axes.map((a) => `for (let o${a.sfx} = 0; o${a.sfx} < ${a.small}; o${a.sfx}++)`).join(" ");
  const kernelLoops = g.axes
    .map(
      (a) =>
        `for (let k${a.sfx} = 0; k${a.sfx} < ${a.k}; k${a.sfx}++) {\n const i${a.sfx} = o${a.sfx} * ${a.stride} - ${a.pad} + k${a.sfx} * ${a.dil};`,
    )
    .join("\n");
  // Bounds tests only on the sides where some window can leave the input (padding, or a window past the end).
  const inside =
    g.axes
      .flatMap((a) => [...(clipsLow(a) ? [`i${a.sfx} >= 0`] : []), ...(clipsHigh(a) ? [`i${a.sfx} < ${a.big}`] : [])])
      .join(" && ") || undefined;
  const bigSizes = g.axes.map((a) => a.big);
  const index = plus(...g.axes.map((a, j) => times(`i${a.sfx}`, strideOf(bigSizes, j))));
  return `let r = 0;
    ${open} {
      for (let ic = 0; ic < ${icPerGroup}; ic++) {
        const xc = xb + (gi * ${icPerGroup} + ic) * ${bigPlane};
        ${kernelLoops}
        ${body(inside, `xc + ${index}`)}
        ${g.axes.map(() => "}").join(" ")}
      }
    }`;
}

/** Fills \`col\` with one sample and group's im2col rows from \`x\` (zeros where a window leaves the input). */
function im2colFill(g: Geometry, col: string, x: string): string {
  return im2colLoops(g, (inside, index) =>
    inside ? `${col}[r++] = ${inside} ? ${x}[${index}]! : 0;` : `${col}[r++] = ${x}[${index}]!;`,
  );
}

/**
 * Forward convolution as a matrix product: per sample and group, row q of the im2col buffer holds output
 * position q's receptive field in the weight's own order (input channel, then kernel offsets), so the
 * weight [out, in/groups, k…] is already the [out, K] matrix of a dense layer; the kernel writes the
 * product through a strided view straight into the channel-major output planes.
 */
function im2colForward(c: EmitCtx, g: Geometry, bias: number, plane: number, x = c.x[0]!): string {
  const icPerGroup = g.bigChannels / g.groups;
  const ocPerGroup = g.smallChannels / g.groups;
  const K = icPerGroup * prod(g.axes.map((a) => a.k));
  const col = c.workspace("col", plane * K);
  const y = c.y[0]!;
  const product =
    ocPerGroup < 8 && plane >= 8
      ? // Few output channels over many positions: the product the other way round, channels × positions
        // (weight rows × the im2col buffer read transposed), so the packed kernel's tiles run along the plane.
        `const y0 = yb + gi * ${ocPerGroup * plane};
    for (let oc = 0; oc < ${ocPerGroup}; oc++) ${y}.fill(${bias >= 0 ? `p[${bias} + gi * ${ocPerGroup} + oc]!` : "0"}, y0 + oc * ${plane}, y0 + (oc + 1) * ${plane});
    packedGemm(${y}, y0, ${plane}, 1, ${ocPerGroup}, ${plane}, ${K}, p, ${g.weight} + gi * ${ocPerGroup * K}, ${K}, 1, ${col}, 0, 1, ${K}, ${y}, -1);`
      : `denseTiledForward(p, ${col}, ${y}, ${plane}, ${K}, ${ocPerGroup}, ${g.weight} + gi * ${ocPerGroup * K}, ${bias >= 0 ? `${bias} + gi * ${ocPerGroup}` : -1}, yb + gi * ${ocPerGroup * plane}, 1, ${plane});`;
  return `for (let b = 0; b < n; b++) {
  const xb = b * ${g.bigSize};
  const yb = b * ${g.smallSize};
  for (let gi = 0; gi < ${g.groups}; gi++) {
    ${im2colFill(g, col, x)}
    ${product}
  }
}`;
}

/**
 * Backward of the same matrix product, on the same shared kernel: per sample and group, the im2col buffer
 * is rebuilt; the dense backward, reading the output gradient's planes through a strided view, gives the weight
 * gradient (Σ over positions of gradient × receptive field) and, when wanted, the gradient of every im2col
 * cell, which col2im adds back to the input element the cell was read from (cells in the padding drop).
 */
function im2colBackward(
  c: EmitCtx,
  g: Geometry,
  plane: number,
  x = c.x[0]!,
  gx = c.gx[0]!,
  wanted = c.gxWanted[0]!,
): string {
  const icPerGroup = g.bigChannels / g.groups;
  const ocPerGroup = g.smallChannels / g.groups;
  const K = icPerGroup * prod(g.axes.map((a) => a.k));
  const col = c.workspace("col", plane * K);
  const dcol = c.workspace("dcol", plane * K);
  const gy = c.gy[0]!;
  return `const dx = ${wanted};
for (let b = 0; b < n; b++) {
  const xb = b * ${g.bigSize};
  const yb = b * ${g.smallSize};
  for (let gi = 0; gi < ${g.groups}; gi++) {
    {
      ${im2colFill(g, col, x)}
    }
    if (dx) ${dcol}.fill(0);
    denseTiledBackward(p, gp, ${col}, ${dcol}, ${gy}, ${plane}, ${K}, ${ocPerGroup}, ${g.weight} + gi * ${ocPerGroup * K}, -1, dx, yb + gi * ${ocPerGroup * plane}, 1, ${plane});
    if (dx) {
      ${im2colLoops(g, (inside, index) => (inside ? `if (${inside}) ${gx}[${index}]! += ${dcol}[r++]!;\nelse r++;` : `${gx}[${index}]! += ${dcol}[r++]!;`))}
    }
  }
}`;
}

// ── padding modes other than zeros ───────────────────────────────────────────────────────────────────
// As PyTorch does (F.pad, then the convolution with padding 0): the input is copied into a padded array
// whose border holds the input mirrored (`reflect`, the edge not repeated), its edge repeated (`replicate`)
// or wrapped around (`circular`); the convolution runs on it without padding. Backward runs the same on the
// padded array's gradient, then adds each padded cell's gradient back to the input element it was copied from.
// On the WebAssembly target the kernels (wasm/conv.ts) run on that copy as on any input, padding 0: the copy
// and the fold stay TypeScript, one pass over the padded input each.

/** One spatial axis of the padded copy: the input's size, the padding before and after. */
interface PadAxis {
  readonly sfx: string;
  readonly size: number;
  readonly lo: number;
  readonly hi: number;
}

/** The input position a padded position `j` (as code) copies, for `t = j − lo`. */
function padSource(mode: string, a: PadAxis, j: string): string {
  const t = plus(j, -a.lo);
  const L = a.size;
  switch (mode) {
    case "reflect":
      return `${t} < 0 ? ${a.lo} - ${j} : ${t} >= ${L} ? ${2 * (L - 1) + a.lo} - ${j} : ${t}`;
    case "replicate":
      return `Math.min(${L - 1}, Math.max(0, ${t}))`;
    default: // circular
      return `${t} < 0 ? ${plus(j, L - a.lo)} : ${t} >= ${L} ? ${plus(j, -a.lo - L)} : ${t}`;
  }
}

/** Loops over every sample, channel and padded position, with `src` the input element it copies and `d`
 *  its index in the padded array; `body` uses both. */
function padLoops(mode: string, axes: readonly PadAxis[], channels: number, body: string): string {
  const sizes = axes.map((a) => a.size);
  const padded = axes.map((a) => a.lo + a.size + a.hi);
  const plane = prod(sizes);
  const open = axes
    .map(
      (a, j) => `for (let j${a.sfx} = 0; j${a.sfx} < ${padded[j]}; j${a.sfx}++${j === axes.length - 1 ? ", d++" : ""}) {
  const t${a.sfx} = ${padSource(mode, a, `j${a.sfx}`)};`,
    )
    .join("\n");
  const src = plus("xc", ...axes.map((a, j) => times(`t${a.sfx}`, strideOf(sizes, j))));
  return `for (let b = 0, d = 0; b < n; b++) {
  for (let c = 0; c < ${channels}; c++) {
    const xc = ${plus(`b * ${channels * plane}`, times("c", plane))};
    ${open}
    const src = ${src};
    ${body}
    ${axes.map(() => "}").join(" ")}
  }
}`;
}

/** A convolution as the WebAssembly kernels see it (wasm/conv.ts): per group, the weight's [OC/G, K]
 *  matrix over one sample's columns, and the group's input geometry for im2col and col2im (wasm/im2col.ts). */
function wasmShape(c: EmitCtx, g: Geometry, bias: number, plane: number): ConvShape {
  const channels = g.bigChannels / g.groups;
  return {
    outChannels: g.smallChannels / g.groups,
    taps: channels * prod(g.axes.map((a) => a.k)),
    plane,
    bias: bias >= 0,
    dtype: c.options.dtype,
    geometry: {
      channels,
      axes: g.axes.map((a) => ({ big: a.big, small: a.small, k: a.k, stride: a.stride, pad: a.pad, dil: a.dil })),
    },
    groups: g.groups,
  };
}

/** The convolution forward on the WebAssembly kernels, sample by sample and group by group: the sample
 *  copied into the memory, im2col there, y = W·col (+ b), copied out. */
function wasmForward(c: EmitCtx, g: Geometry, k: number, bias: number, plane: number, x = c.x[0]!): string {
  const s = wasmShape(c, g, bias, plane);
  const layout = convScratch(s);
  return `wasmConvForward(arena, ${k}, ${x}, ${c.y[0]!}, n, ${g.bigSize}, ${s.outChannels}, ${plane}, ${s.taps}, ${g.groups}, ${g.weight}, ${bias}, ${layout.y}, ${layout.x});`;
}

/** The convolution backward on the WebAssembly kernels, sample by sample and group by group: im2col again,
 *  dW += dy·colᵀ and, when the input gradient is wanted, dcol = Wᵀ·dy, which col2im adds to the input
 *  element each cell read. */
function wasmBackward(
  c: EmitCtx,
  g: Geometry,
  k: number,
  bias: number,
  plane: number,
  x = c.x[0]!,
  gx = c.gx[0]!,
): string {
  const s = wasmShape(c, g, bias, plane);
  const layout = convScratch(s);
  return `wasmConvBackward(arena, ${k}, ${x}, ${c.gy[0]!}, ${gx}, n, ${g.bigSize}, ${s.outChannels}, ${plane}, ${s.taps}, ${g.groups}, ${g.weight}, ${layout.y}, ${layout.dcol}, ${layout.x}, ${layout.dx}, ${c.gxWanted[0]!});`;
}

/** The kernel index of a convolution on the WebAssembly target, or undefined: TypeScript only (another
 *  target, a scratch that would not fit the memory, or a kernel too wide for a module). 3-D too: the column
 *  kernels loop over every axis but the last (wasm/im2col.ts). Every group
 *  width runs on the kernels: depthwise included, measured 3–11× faster than its TypeScript loops
 *  (docs/performance.md). */
function wasmIndex(c: EmitCtx, g: Geometry, bias: number, plane: number): number | undefined {
  if (!c.wasmConv) return undefined;
  const { dtype: _, ...shape } = wasmShape(c, g, bias, plane);
  return c.wasmConv(shape);
}

/** The TypeScript backward of a convolution without its bias part: im2col with ≥ 4 output channels per
 *  group, direct loops otherwise. */
function tsBackward(c: EmitCtx, g: Geometry, plane: number): string {
  if (g.smallChannels / g.groups >= 4) return im2colBackward(c, g, plane);
  return `// weight gradient: Σ over the batch and the output positions of output gradient × input
${weightGrad(g, c.gy[0]!, c.x[0]!)}
// input gradient: each input element gathers the output gradients of the windows that cover it
${spread(g, c.gx[0]!, c.gy[0]!, -1, false)}`;
}

function conv(rank: 1 | 2 | 3): Kernel {
  const kind = `conv${rank}d`;
  const sfx = suffixes(rank);
  const setup = (c: EmitCtx) => {
    const inShape = c.inShapes[0]!;
    const outShape = c.outShapes[0]!;
    const k = perAxis(c, "kernel", rank);
    const stride = perAxis(c, "stride", rank);
    const dil = perAxis(c, "dilation", rank);
    // The padding before each axis, `same` and `valid` resolved by the shape rule (src/vocabulary/kinds/conv.ts).
    const pad = resolvedInts(c.op, "padding");
    const mode = c.args.name("padding"); // as written, for the comment
    const groups = c.args.int("groups");
    const axes: Axis[] = sfx.map((s, i) => ({
      sfx: s,
      big: inShape[i + 1]!,
      small: outShape[i + 1]!,
      k: k[i]!,
      stride: stride[i]!,
      pad: pad[i]!,
      dil: dil[i]!,
    }));
    const g: Geometry = {
      axes,
      smallChannels: outShape[0]!,
      bigChannels: inShape[0]!,
      groups,
      weight: c.param("weight"),
      names: { smallPos: "o", bigPos: "i", smallCh: "oc", bigCh: "ic" },
      smallSize: c.outSizes[0]!,
      bigSize: c.inSizes[0]!,
    };
    const bias = c.hasParam("bias") ? c.param("bias") : -1;
    // A padding mode other than zeros: the padding before and after each axis (`same` puts the odd cell
    // after), and the geometry of the convolution on the padded copy, without padding.
    const padMode = c.args.name("padding_mode") ?? "zeros";
    const padAxes: PadAxis[] = axes.map((a) => ({
      sfx: a.sfx,
      size: a.big,
      lo: a.pad,
      hi: mode === "same" ? a.dil * (a.k - 1) - a.pad : a.pad,
    }));
    const padded =
      padMode !== "zeros" && padAxes.some((a) => a.lo > 0 || a.hi > 0)
        ? {
            mode: padMode,
            axes: padAxes,
            g: {
              ...g,
              axes: axes.map((a, i) => ({ ...a, big: a.big + padAxes[i]!.lo + padAxes[i]!.hi, pad: 0 })),
              bigSize: g.bigChannels * prod(padAxes.map((a) => a.lo + a.size + a.hi)),
            },
          }
        : undefined;
    const extras = [
      `stride ${fmt(stride)}`,
      mode === "same" || mode === "valid" ? `padding ${mode}` : `pad ${fmt(pad)}`,
      ...(padded ? [`padding_mode ${padMode}`] : []),
      ...(dil.some((d) => d !== 1) ? [`dilation ${fmt(dil)}`] : []),
      ...(groups > 1
        ? [groups === inShape[0] && groups === outShape[0] ? `depthwise (groups ${groups})` : `groups ${groups}`]
        : []),
      ...(bias < 0 ? ["no bias"] : []),
    ];
    const title = `${c.op.name}: ${kind} ${inShape[0]}→${outShape[0]}, ${rank === 1 ? `kernel ${k[0]}` : k.join("×")}, ${extras.join(", ")}; ${shape(inShape)} → ${shape(outShape)}`;
    return { g, bias, title, plane: prod(outShape.slice(1)), padded };
  };
  return {
    forward(c) {
      const { g: g0, bias, title, plane, padded } = setup(c);
      if (padded) {
        const g = padded.g;
        const xpad = c.scratch("xpad", g.bigSize);
        const fill = `// the input padded (${padded.mode}) into ${xpad}
${padLoops(padded.mode, padded.axes, g.bigChannels, `${xpad}[d] = ${c.x[0]!}[src]!;`)}`;
        const ts =
          g.smallChannels / g.groups >= 4
            ? `// as im2col + a register-tiled matrix product on the padded input
${im2colForward(c, g, bias, plane, xpad)}`
            : windows(g, c.y[0]!, xpad, bias, true);
        // On the WebAssembly target the kernels run on the padded copy as on any input, without padding.
        const k = wasmIndex(c, g, bias, plane);
        if (k === undefined) return `// ${title}\n${fill}\n${ts}`;
        return `// ${title}: im2col and matrix products on WebAssembly SIMD, on the padded input, when the parameters live in its memory
${fill}
if (arena) {
${wasmForward(c, g, k, bias, plane, xpad)}
} else {
${ts}
}`;
      }
      const g = g0;
      const ocPerGroup = g.smallChannels / g.groups;
      // With at least 4 output channels per group, the convolution is a matrix product over an im2col
      // buffer: the shared register-tiled dense kernel does the arithmetic (measured 2.75× on LeNet's
      // second convolution); depthwise and other thin groups keep the direct loops.
      const ts =
        ocPerGroup >= 4
          ? `// ${title}, as im2col + a register-tiled matrix product
${im2colForward(c, g, bias, plane)}`
          : `// ${title}
${windows(g, c.y[0]!, c.x[0]!, bias, true)}`;
      const k = wasmIndex(c, g, bias, plane);
      if (k === undefined) return ts;
      return `// ${title}: im2col and matrix products on WebAssembly SIMD when the parameters live in its memory
if (arena) {
${wasmForward(c, g, k, bias, plane)}
} else {
${ts}
}`;
    },
    backward(c) {
      const { g: g0, bias, title, plane, padded } = setup(c);
      const biasPart =
        bias >= 0 ? `// bias gradient\n${biasGrad(c.gy[0]!, bias, g0.smallChannels, plane, g0.smallSize)}\n` : "";
      if (padded) {
        const g = padded.g;
        const xpad = c.scratch("xpad", g.bigSize);
        const gxpad = c.scratch("gxpad", g.bigSize);
        const fold = `// each padded cell's gradient back to the input element it copies
${padLoops(padded.mode, padded.axes, g.bigChannels, `${c.gx[0]!}[src]! += ${gxpad}[d]!;`)}`;
        const wanted = c.gxWanted[0]!;
        const zero = `${wanted === "true" ? "" : `if (${wanted}) `}${gxpad}.fill(0, 0, n * ${g.bigSize});`;
        const wide = g.smallChannels / g.groups >= 4;
        const ts = wide
          ? `${zero}
${im2colBackward(c, g, plane, xpad, gxpad)}
if (${wanted}) {
${fold}
}`
          : `// weight gradient: Σ over the batch and the output positions of output gradient × padded input
${weightGrad(g, c.gy[0]!, xpad)}
// the padded input's gradient: each element gathers the output gradients of the windows that cover it
${spread(g, gxpad, c.gy[0]!, -1, true)}
${fold}`;
        const k = wasmIndex(c, g, bias, plane);
        if (k === undefined) {
          return `// ${title} — backward${wide ? ", as im2col + a register-tiled matrix product on the padded input" : ""}
${biasPart}${ts}`;
        }
        // The kernels on the padded copy (the forward's, kept in ${xpad}): col2im adds into its gradient,
        // zeroed first, which the fold then adds to the input's, as on the TypeScript path.
        return `// ${title} — backward: im2col, col2im and matrix products on WebAssembly SIMD, on the padded input, when the parameters live in its memory
${biasPart}if (arena) {
${zero}
${wasmBackward(c, g, k, bias, plane, xpad, gxpad)}
if (${wanted}) {
${fold}
}
} else {
${ts}
}`;
      }
      const g = g0;
      // The same choice as forward: a matrix product over im2col buffers when the groups are wide enough.
      const k = wasmIndex(c, g, bias, plane);
      if (k !== undefined) {
        return `// ${title} — backward: im2col, col2im and matrix products on WebAssembly SIMD when the parameters live in its memory
${biasPart}if (arena) {
${wasmBackward(c, g, k, bias, plane)}
} else {
${tsBackward(c, g, plane)}
}`;
      }
      if (g.smallChannels / g.groups >= 4)
        return `// ${title} — backward, as im2col + a register-tiled matrix product
${biasPart}${im2colBackward(c, g, plane)}`;
      return `// ${title} — backward
${biasPart}${tsBackward(c, g, plane)}`;
    },
  };
}

function convTranspose(rank: 1 | 2): Kernel {
  const setup = (c: EmitCtx) => {
    const inShape = c.inShapes[0]!;
    const outShape = c.outShapes[0]!;
    const k = perAxis(c, "kernel", rank);
    const stride = perAxis(c, "stride", rank);
    const pad = perAxis(c, "padding", rank);
    const outPad = perAxis(c, "output_padding", rank);
    const dil = perAxis(c, "dilation", rank);
    const groups = c.args.int("groups");
    // The input is the small grid, the output the big one: out = in · stride − pad + k · dilation.
    const axes: Axis[] = suffixes(rank).map((s, i) => ({
      sfx: s,
      big: outShape[i + 1]!,
      small: inShape[i + 1]!,
      k: k[i]!,
      stride: stride[i]!,
      pad: pad[i]!,
      dil: dil[i]!,
    }));
    const g: Geometry = {
      axes,
      smallChannels: inShape[0]!,
      bigChannels: outShape[0]!,
      groups,
      weight: c.param("weight"),
      names: { smallPos: "i", bigPos: "o", smallCh: "ic", bigCh: "oc" },
      smallSize: c.inSizes[0]!,
      bigSize: c.outSizes[0]!,
    };
    const bias = c.hasParam("bias") ? c.param("bias") : -1;
    const extras = [
      `stride ${fmt(stride)}`,
      `pad ${fmt(pad)}`,
      ...(outPad.some((x) => x !== 0) ? [`output_padding ${fmt(outPad)}`] : []),
      ...(dil.some((d) => d !== 1) ? [`dilation ${fmt(dil)}`] : []),
      ...(groups > 1 ? [`groups ${groups}`] : []),
      ...(bias < 0 ? ["no bias"] : []),
    ];
    const title = `${c.op.name}: conv_transpose${rank}d ${inShape[0]}→${outShape[0]}, ${rank === 1 ? `kernel ${k[0]}` : k.join("×")}, ${extras.join(", ")}; ${shape(inShape)} → ${shape(outShape)}`;
    return { g, bias, title, plane: prod(outShape.slice(1)) };
  };
  // On the WebAssembly target, the kernels of the convolution whose input is this layer's output (the same
  // weight and geometry, the small side this layer's input): forward is that convolution's input gradient,
  // col2im(Wᵀ·x) onto the bias; backward its weight gradient and its forward, on im2col(gy). The bias (and
  // its gradient) stays out of the kernels' shape: the big side's channels are not the small side's.
  const wasm = (c: EmitCtx, g: Geometry) => {
    if (!c.wasmConv) return undefined;
    const smallPlane = prod(g.axes.map((a) => a.small));
    const s = wasmShape(c, g, -1, smallPlane);
    const { dtype: _, ...shape } = s;
    const k = c.wasmConv(shape, true);
    return k === undefined ? undefined : { k, s, layout: convScratch(s) };
  };
  return {
    forward(c) {
      const { g, bias, title } = setup(c);
      const ts = `// each output element gathers the input elements whose kernel footprint covers it
${spread(g, c.y[0]!, c.x[0]!, bias, true)}`;
      const w = wasm(c, g);
      if (w === undefined) return `// ${title}\n${ts}`;
      const { k, s, layout } = w;
      return `// ${title}: col2im of Wᵀ·x on WebAssembly SIMD when the parameters live in its memory
if (arena) {
wasmConvTransposeForward(arena, ${k}, ${c.x[0]!}, ${c.y[0]!}, n, ${g.bigSize}, ${g.bigChannels}, ${s.outChannels}, ${s.plane}, ${s.taps}, ${g.groups}, ${g.weight}, ${bias}, ${layout.y}, ${layout.dcol}, ${layout.dx});
} else {
${ts}
}`;
    },
    backward(c) {
      const { g, bias, title, plane } = setup(c);
      const biasPart =
        bias >= 0 ? `// bias gradient\n${biasGrad(c.gy[0]!, bias, g.bigChannels, plane, g.bigSize)}\n` : "";
      const ts = `// weight gradient: Σ over the batch and the input positions of input × output gradient
${weightGrad(g, c.x[0]!, c.gy[0]!)}
// input gradient: a strided convolution of the output gradient
${windows(g, c.gx[0]!, c.gy[0]!, -1, false)}`;
      const w = wasm(c, g);
      if (w === undefined) return `// ${title} — backward\n${biasPart}${ts}`;
      const { k, s, layout } = w;
      return `// ${title} — backward: im2col of the output gradient and matrix products on WebAssembly SIMD when the parameters live in its memory
${biasPart}if (arena) {
wasmConvTransposeBackward(arena, ${k}, ${c.x[0]!}, ${c.gy[0]!}, ${c.gx[0]!}, n, ${g.bigSize}, ${s.outChannels}, ${s.plane}, ${s.taps}, ${g.groups}, ${g.weight}, ${layout.y}, ${layout.x}, ${c.gxWanted[0]!});
} else {
${ts}
}`;
    },
  };
}

export const convKernels = {
  conv1d: conv(1),
  conv2d: conv(2),
  conv3d: conv(3),
  conv_transpose1d: convTranspose(1),
  conv_transpose2d: convTranspose(2),
} satisfies KernelFamily;
