// Pooling: max_pool1d/2d/3d, avg_pool1d/2d/3d, global_avg_pool, adaptive_avg_pool1d/2d/3d, PyTorch semantics.
// Every (sample, channel) plane is pooled on its own, so the loops run over the n × C planes in order and
// the output index runs through them contiguously.
//
// - Max pooling: padding counts as −∞; a window's maximum is the first one in row-major order (strict `>`),
//   NaN wins (PyTorch's CPU kernel), and the index starts at the window's first element inside the input.
//   The forward pass keeps each output's argmax (an index within its input plane) in a scratch array; the
//   backward pass routes the gradient there.
// - Average pooling divides by PyTorch's divisor: with count_include_pad the window clipped to the padded
//   input (a window hanging past the padding in ceil mode counts only the part inside), without it the
//   number of input elements in the window.
// - Adaptive average pooling: output i of an axis of L inputs averages [⌊i·L/out⌋, ⌈(i+1)·L/out⌉).
import type { EmitCtx, Kernel, KernelFamily } from "../kernel.js";
import { plus, suffixes, times } from "./conv.js";

interface Axis {
  /** Suffix of this axis' loop variables: `d`, `h`, `w`, or none for 1d. */
  readonly sfx: string;
  readonly in: number;
  readonly out: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  readonly dil: number;
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);
const fmt = (xs: readonly number[]): string => (xs.every((x) => x === xs[0]) ? String(xs[0]) : `[${xs.join(", ")}]`);
const shape = (xs: readonly number[]): string => `[${xs.join(", ")}]`;

/** Some window starts before the input. */
const clipsLow = (a: Axis): boolean => a.pad > 0;
/** Some window ends after the input (padding, or ceil mode's last window). */
const clipsHigh = (a: Axis): boolean => (a.out - 1) * a.stride - a.pad + (a.k - 1) * a.dil > a.in - 1;

function perAxis(c: EmitCtx, name: string, rank: number): number[] {
  return rank === 1 ? [c.args.int(name)] : c.args.axes(name, rank);
}

function windowAxes(c: EmitCtx, rank: number, dilation: boolean): Axis[] {
  const inShape = c.inShapes[0]!;
  const outShape = c.outShapes[0]!;
  const k = perAxis(c, "kernel", rank);
  const stride = perAxis(c, "stride", rank); // defaults to the kernel (the vocabulary's `sameAs`)
  const pad = perAxis(c, "padding", rank);
  const dil = dilation ? perAxis(c, "dilation", rank) : k.map(() => 1);
  return suffixes(rank).map((s, i) => ({
    sfx: s,
    in: inShape[i + 1]!,
    out: outShape[i + 1]!,
    k: k[i]!,
    stride: stride[i]!,
    pad: pad[i]!,
    dil: dil[i]!,
  }));
}

/** Nested loops over the output positions of a plane; `perAxis` gives each axis' setup lines, `inner`
 *  the body at each output position (where `d` is the output index). */
function outputLoops(axes: readonly Axis[], perAxisLines: (a: Axis) => string[], inner: string): string {
  const loop = (j: number): string => {
    if (j === axes.length) return inner;
    const a = axes[j]!;
    const o = `o${a.sfx}`;
    return `for (let ${o} = 0; ${o} < ${a.out}; ${o}++${j === axes.length - 1 ? ", d++" : ""}) {
${perAxisLines(a).join("\n")}
${loop(j + 1)}
}`;
  };
  return loop(0);
}

/** Nested loops over input ranges [i·Lo, i·Hi) of every axis; `leaf` gets the plane index expression. */
function inputLoops(axes: readonly Axis[], base: string, leaf: (index: string) => string, unrolled = false): string {
  const sizes = axes.map((a) => a.in);
  if (unrolled) {
    // A window of fixed size inside the input: its taps written out, in the loops' order (so the same sums
    // bit for bit), from the window's first element `xw` (V8 runs these ~2-3× faster than the loops over
    // a 2×2 window, whose bounds it cannot see).
    const strides = axes.map((_, j) => prod(sizes.slice(j + 1)));
    const taps: number[][] = axes.reduce<number[][]>(
      (acc, a) => acc.flatMap((t) => Array.from({ length: a.k }, (_, k) => [...t, k])),
      [[]],
    );
    return [
      `const xw = ${plus(base, ...axes.map((a, j) => times(`i${a.sfx}Lo`, strides[j]!)))};`,
      ...taps.map((t) =>
        leaf(
          plus(
            "xw",
            t.reduce((sum, k, j) => sum + k * strides[j]!, 0),
          ),
        ),
      ),
    ].join("\n");
  }
  const loop = (j: number, b: string): string => {
    const a = axes[j]!;
    const i = `i${a.sfx}`;
    const head = `for (let ${i} = ${i}Lo; ${i} < ${i}Hi; ${i}++)`;
    if (j === axes.length - 1) return `${head} ${leaf(`${b} + ${i}`)}`;
    const r = j === 0 ? "xr" : `xr${j}`;
    return `${head} {
  const ${r} = ${b} + ${times(i, prod(sizes.slice(j + 1)))};
  ${loop(j + 1, r)}
}`;
  };
  return loop(0, base);
}

function title(c: EmitCtx, kind: string, details: string[]): string {
  const name = c.op.name ? `${c.op.name}: ` : "";
  return `// ${name}${kind}${details.length ? ` ${details.join(", ")}` : ""}; ${shape(c.inShapes[0]!)} → ${shape(c.outShapes[0]!)}`;
}

// ── max pooling ──────────────────────────────────────────────────────────────────────────────────────

function maxPool(rank: 1 | 2 | 3): Kernel {
  const kind = `max_pool${rank}d`;
  const head = (c: EmitCtx, axes: readonly Axis[]) =>
    title(c, kind, [
      rank === 1 ? `kernel ${axes[0]!.k}` : axes.map((a) => a.k).join("×"),
      `stride ${fmt(axes.map((a) => a.stride))}`,
      `pad ${fmt(axes.map((a) => a.pad))}`,
      ...(axes.some((a) => a.dil !== 1) ? [`dilation ${fmt(axes.map((a) => a.dil))}`] : []),
      ...(c.args.bool("ceil_mode") ? ["ceil_mode"] : []),
    ]);
  return {
    forward(c) {
      const axes = windowAxes(c, rank, true);
      const C = c.inShapes[0]![0]!;
      const IP = c.inSizes[0]! / C;
      // Each output's argmax is kept for the backward pass (not in an inference build, which has none).
      const arg = c.inference ? "" : c.scratch("argmax", c.outSizes[0]!);
      const sizes = axes.map((a) => a.in);
      const lo = (a: Axis) => (clipsLow(a) ? `k${a.sfx}Lo` : "0");
      const hi = (a: Axis) => (clipsHigh(a) ? `k${a.sfx}Hi` : String(a.k));
      const setup = (a: Axis): string[] => {
        const i0 = `i${a.sfx}0`;
        const lines = [`const ${i0} = ${plus(times(`o${a.sfx}`, a.stride), -a.pad)};`];
        if (clipsLow(a))
          lines.push(`const k${a.sfx}Lo = Math.max(0, ${a.dil === 1 ? `-${i0}` : `Math.ceil(-${i0} / ${a.dil})`});`);
        if (clipsHigh(a)) {
          lines.push(
            `const k${a.sfx}Hi = Math.min(${a.k}, ${a.dil === 1 ? `${a.in} - ${i0}` : `Math.floor((${a.in - 1} - ${i0}) / ${a.dil}) + 1`});`,
          );
        }
        return lines;
      };
      // plane index of the element at kernel taps `ks` (one per axis)
      const tap = (a: Axis, k: string) => plus(`i${a.sfx}0`, times(k, a.dil));
      const at = (ks: readonly string[]) =>
        plus(...axes.map((a, j) => times(tap(a, ks[j]!), prod(sizes.slice(j + 1)))));
      const kLoop = (j: number, base: string): string => {
        const a = axes[j]!;
        const k = `k${a.sfx}`;
        const headLine = `for (let ${k} = ${lo(a)}; ${k} < ${hi(a)}; ${k}++)`;
        if (j === axes.length - 1) {
          return `${headLine} {
  const q = ${plus(base, tap(a, k))};
  const v = ${c.x[0]}[xc + q]!;
  if (v > m || v !== v) {
    m = v;${arg ? "\n    at = q;" : ""}
  }
}`;
        }
        const r = j === 0 ? "r" : `r${j}`;
        return `${headLine} {
  const ${r} = ${plus(base, times(tap(a, k), prod(sizes.slice(j + 1))))};
  ${kLoop(j + 1, r)}
}`;
      };
      const inner = `let m = -Infinity;${arg ? `\nlet at = ${at(axes.map(lo))};` : ""}
${kLoop(0, "0")}
${c.y[0]}[d] = m;${arg ? `\n${arg}[d] = at;` : ""}`;
      return `${head(c, axes)}${arg ? "\n// the argmax (index within the input plane) of every output is kept for the backward pass" : ""}
for (let bc = 0, d = 0; bc < n * ${C}; bc++) {
  const xc = bc * ${IP};
  ${outputLoops(axes, setup, inner)}
}`;
    },
    backward(c) {
      const axes = windowAxes(c, rank, true);
      const C = c.inShapes[0]![0]!;
      const IP = c.inSizes[0]! / C;
      const OP = c.outSizes[0]! / C;
      const arg = c.scratch("argmax", c.outSizes[0]!);
      return `${head(c, axes)} — backward: each output's gradient goes to its argmax
for (let bc = 0, d = 0; bc < n * ${C}; bc++) {
  const xc = bc * ${IP};
  for (let j = 0; j < ${OP}; j++, d++) ${c.gx[0]}[xc + ${arg}[d]!]! += ${c.gy[0]}[d]!;
}`;
    },
  };
}

// ── average pooling ──────────────────────────────────────────────────────────────────────────────────

/** Per-axis setup of an average-pooling window: `iLo`/`iHi` (inside the input) and the axis' factor of
 *  the divisor (a number when it is the same for every window). A window that never reaches the padding has
 *  its end as a line of its own (`end`), which unrolled taps do not read. */
function avgAxis(a: Axis, includePad: boolean): { lines: string[]; end?: string; factor: string | number } {
  const o = `o${a.sfx}`;
  const i = `i${a.sfx}`;
  if (!clipsLow(a) && !clipsHigh(a)) {
    return { lines: [`const ${i}Lo = ${times(o, a.stride)};`], end: `const ${i}Hi = ${i}Lo + ${a.k};`, factor: a.k };
  }
  // PyTorch: the window [i0, i0 + k) is first clipped to the padded input [−pad, in + pad) (that size is
  // the divisor with count_include_pad), then to the input.
  const lines = [
    `const ${i}0 = ${plus(times(o, a.stride), -a.pad)};`,
    `const ${i}1 = Math.min(${i}0 + ${a.k}, ${a.in + a.pad});`,
    `const ${i}Lo = Math.max(0, ${i}0);`,
    `const ${i}Hi = Math.min(${a.in}, ${i}1);`,
  ];
  return { lines, factor: includePad ? `(${i}1 - ${i}0)` : `(${i}Hi - ${i}Lo)` };
}

/** `acc / divisor` code from per-axis factors. */
function divisor(factors: readonly (string | number)[]): string {
  const k = factors.filter((f): f is number => typeof f === "number").reduce((a, b) => a * b, 1);
  const vars = factors.filter((f): f is string => typeof f === "string");
  if (vars.length === 0) return String(k);
  const parts = k === 1 ? vars : [String(k), ...vars];
  return parts.length === 1 ? parts[0]! : `(${parts.join(" * ")})`;
}

/** A kernel that averages windows given by per-axis setup lines (`unrolled`: the taps are written out, so
 *  the lines need not give the window's end): forward sums then divides, backward spreads gradient / divisor
 *  over the window. */
function windowAverage(
  describe: (c: EmitCtx) => string,
  axesOf: (c: EmitCtx) => {
    axes: Axis[];
    setup: (a: Axis, unrolled: boolean) => string[];
    div: string;
    fixed?: boolean;
  },
): Kernel {
  /** Windows of one fixed size inside the input (no padding reached) and of at most 16 taps are unrolled. */
  const unroll = (axes: readonly Axis[], fixed: boolean | undefined) =>
    fixed === true && prod(axes.map((a) => a.k)) <= 16;
  return {
    forward(c) {
      const { axes, setup, div, fixed } = axesOf(c);
      const C = c.inShapes[0]![0]!;
      const IP = c.inSizes[0]! / C;
      const unrolled = unroll(axes, fixed);
      const inner = `let acc = 0;
${inputLoops(axes, "xc", (q) => `acc += ${c.x[0]}[${q}]!;`, unrolled)}
${c.y[0]}[d] = ${div === "1" ? "acc" : `acc / ${div}`};`;
      return `${describe(c)}
for (let bc = 0, d = 0; bc < n * ${C}; bc++) {
  const xc = bc * ${IP};
  ${outputLoops(axes, (a) => setup(a, unrolled), inner)}
}`;
    },
    backward(c) {
      const { axes, setup, div, fixed } = axesOf(c);
      const C = c.inShapes[0]![0]!;
      const IP = c.inSizes[0]! / C;
      const unrolled = unroll(axes, fixed);
      const inner = `const g = ${c.gy[0]}[d]!${div === "1" ? "" : ` / ${div}`};
${inputLoops(axes, "xc", (q) => `${c.gx[0]}[${q}]! += g;`, unrolled)}`;
      return `${describe(c)} — backward: gradient / divisor to every element of the window
for (let bc = 0, d = 0; bc < n * ${C}; bc++) {
  const xc = bc * ${IP};
  ${outputLoops(axes, (a) => setup(a, unrolled), inner)}
}`;
    },
  };
}

function avgPool(rank: 1 | 2 | 3): Kernel {
  const kind = `avg_pool${rank}d`;
  return windowAverage(
    (c) => {
      const axes = windowAxes(c, rank, false);
      return title(c, kind, [
        rank === 1 ? `kernel ${axes[0]!.k}` : axes.map((a) => a.k).join("×"),
        `stride ${fmt(axes.map((a) => a.stride))}`,
        `pad ${fmt(axes.map((a) => a.pad))}`,
        ...(c.args.bool("ceil_mode") ? ["ceil_mode"] : []),
        ...(c.args.bool("count_include_pad") ? [] : ["count_include_pad = false"]),
      ]);
    },
    (c) => {
      const axes = windowAxes(c, rank, false);
      const includePad = c.args.bool("count_include_pad");
      const per = axes.map((a) => avgAxis(a, includePad));
      return {
        axes,
        setup: (a, unrolled) => {
          const { lines, end } = per[axes.indexOf(a)]!;
          return unrolled || end === undefined ? lines : [...lines, end];
        },
        div: divisor(per.map((x) => x.factor)),
        fixed: per.every((x) => x.end !== undefined),
      };
    },
  );
}

function adaptiveAvgPool(rank: 1 | 2 | 3): Kernel {
  const kind = `adaptive_avg_pool${rank}d`;
  const axesOf = (c: EmitCtx) => {
    const inShape = c.inShapes[0]!;
    const outShape = c.outShapes[0]!;
    const axes: Axis[] = suffixes(rank).map((s, i) => ({
      sfx: s,
      in: inShape[i + 1]!,
      out: outShape[i + 1]!,
      k: 0,
      stride: 0,
      pad: 0,
      dil: 1,
    }));
    const per = axes.map((a) => {
      const o = `o${a.sfx}`;
      const i = `i${a.sfx}`;
      if (a.in % a.out === 0) {
        const k = a.in / a.out;
        return {
          lines: [`const ${i}Lo = ${times(o, k)};`, `const ${i}Hi = ${i}Lo + ${k};`],
          factor: k as string | number,
        };
      }
      return {
        lines: [
          `const ${i}Lo = Math.floor(${times(o, a.in)} / ${a.out});`,
          `const ${i}Hi = Math.ceil((${o} + 1) * ${a.in} / ${a.out});`,
        ],
        factor: `(${i}Hi - ${i}Lo)` as string | number,
      };
    });
    return { axes, setup: (a: Axis) => per[axes.indexOf(a)]!.lines, div: divisor(per.map((x) => x.factor)) };
  };
  return windowAverage((c) => title(c, kind, [`to ${shape(c.outShapes[0]!.slice(1))}`]), axesOf);
}

/** [C, …] → [C]: the mean of each channel's plane. */
const globalAvgPool: Kernel = {
  forward(c) {
    const C = c.inShapes[0]![0]!;
    const L = c.inSizes[0]! / C;
    return `${title(c, "global_avg_pool", [])}
for (let bc = 0, xc = 0; bc < n * ${C}; bc++, xc += ${L}) {
  let acc = 0;
  for (let i = 0; i < ${L}; i++) acc += ${c.x[0]}[xc + i]!;
  ${c.y[0]}[bc] = acc / ${L};
}`;
  },
  backward(c) {
    const C = c.inShapes[0]![0]!;
    const L = c.inSizes[0]! / C;
    return `${title(c, "global_avg_pool", [])} — backward
for (let bc = 0, xc = 0; bc < n * ${C}; bc++, xc += ${L}) {
  const g = ${c.gy[0]}[bc]! / ${L};
  for (let i = 0; i < ${L}; i++) ${c.gx[0]}[xc + i]! += g;
}`;
  },
};

export const poolKernels = {
  max_pool1d: maxPool(1),
  max_pool2d: maxPool(2),
  max_pool3d: maxPool(3),
  avg_pool1d: avgPool(1),
  avg_pool2d: avgPool(2),
  avg_pool3d: avgPool(3),
  global_avg_pool: globalAvgPool,
  adaptive_avg_pool1d: adaptiveAvgPool(1),
  adaptive_avg_pool2d: adaptiveAvgPool(2),
  adaptive_avg_pool3d: adaptiveAvgPool(3),
} satisfies KernelFamily;
