// Arbitraries for the property tests (test/props.test.ts): well-formed `.nn` specs as STRUCTURED values.
//
// Why not wrap the fuzzer's generator (test/fuzz/spec-gen.ts)? It draws from its own seeded stream, so the
// only thing fast-check could shrink is the seed — and a smaller seed is an unrelated spec, not a smaller
// one. Here a spec is a plain value (an input, a list of steps, nested bodies), which fast-check shrinks
// structurally: fewer steps, shallower bodies, smaller sizes, options back to their defaults. A step is
// written for any input shape and `fit` (below) turns it into a call valid on the shape it meets — it
// adapts sizes (a kernel larger than its input is clamped, groups become a common divisor, a body's step
// keeps the shape) or leaves the step out. So every shrunk value still prints a well-formed spec, and a
// failure shrinks to a small spec whose every line matters.
//
// `layout` varies what `nnc fmt` undoes (indentation, spaces, blank lines, comments, argument order of
// options), so that the formatting property has something to normalize.
import fc from "fast-check";

export type InputKind = "vec" | "seq" | "img1" | "img2" | "tok";

export interface InputSpec {
  readonly kind: InputKind;
  /** Sizes, used as the kind needs them (vec: [a]; seq: [T ≤ a, b]; img1: [a, b]; img2: [a, b, c];
   *  tok: [T = a] of V = b + 2, embedded to c). */
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** Activations without parameters or with only decimal options (prelu, softmax are steps of their own). */
export const plainActivations = [
  "relu",
  "relu6",
  "leaky_relu",
  "elu",
  "selu",
  "gelu",
  "silu",
  "swish",
  "mish",
  "sigmoid",
  "hard_sigmoid",
  "hardsigmoid",
  "hardswish",
  "tanh",
  "softplus",
  "softsign",
  "identity",
] as const;

export type Step =
  | {
      readonly k: "dense";
      readonly out: number;
      readonly bias: boolean;
      /** `frozen = true`, or `frozen = weight` (the one tensor every dense layer has). */
      readonly frozen: boolean | "weight";
    }
  | { readonly k: "act"; readonly kind: (typeof plainActivations)[number]; readonly opt: number; readonly on: boolean }
  | { readonly k: "softmax"; readonly log: boolean; readonly axis: number; readonly written: boolean }
  | { readonly k: "prelu"; readonly perChannel: boolean }
  | {
      readonly k: "norm";
      readonly kind: "layernorm" | "rmsnorm" | "batchnorm" | "groupnorm" | "instancenorm" | "dropout";
      readonly affine: boolean | undefined;
      readonly bias: boolean | undefined;
      readonly track: boolean | undefined;
      readonly eps: number | undefined;
      readonly g: number;
      readonly frozen: boolean;
    }
  | {
      readonly k: "conv";
      readonly out: number;
      readonly kernel: number;
      readonly stride: number;
      readonly padding: number;
      /** `padding = same` (stride 1) or `valid` instead of a number. */
      readonly padWord: "same" | "valid" | undefined;
      readonly dilation: number;
      readonly g: number;
      readonly bias: boolean;
      /** `frozen = true`, or `frozen = weight` (the one tensor every convolution has). */
      readonly frozen: boolean | "weight";
    }
  | {
      readonly k: "pool";
      readonly max: boolean;
      readonly kernel: number;
      readonly stride: number | undefined;
      readonly padding: number;
      readonly dilation: number;
      readonly ceil: boolean;
      readonly countPad: boolean;
    }
  | { readonly k: "adaptive"; readonly size: number }
  | { readonly k: "gap" }
  | { readonly k: "flatten" }
  | { readonly k: "transpose" }
  | { readonly k: "pixel_shuffle"; readonly r: number }
  | { readonly k: "positional"; readonly extra: number; readonly classToken: boolean }
  | {
      readonly k: "attention";
      readonly heads: number;
      readonly kv: number;
      readonly headDim: number | undefined;
      readonly causal: boolean;
      readonly bias: boolean;
      readonly outBias: boolean | undefined;
      readonly separate: boolean;
      readonly rope: boolean;
      /** Cross-attention to a memory made from the current value: none, `tanh` (the same length) or
       *  `class_token` (one position more). */
      readonly memory: "none" | "tanh" | "class_token" | "dense";
    }
  | {
      readonly k: "recurrent";
      readonly kind: "rnn" | "lstm" | "gru";
      readonly hidden: number;
      readonly layers: number;
      readonly bidirectional: boolean;
      readonly bias: boolean;
      readonly last: boolean;
      readonly relu: boolean;
      readonly keras: boolean;
    }
  | { readonly k: "rotary"; readonly theta: number | undefined }
  | {
      readonly k: "convT";
      readonly out: number;
      readonly kernel: number;
      readonly stride: number;
      readonly padding: number;
      readonly outPad: number;
      readonly dilation: number;
      readonly g: number;
      readonly bias: boolean;
    }
  | { readonly k: "reduce"; readonly take: boolean; readonly axis: number; readonly index: number }
  | { readonly k: "reshape"; readonly split: number }
  | { readonly k: "graph"; readonly glu: boolean; readonly width: number; readonly parts: number }
  | { readonly k: "moe"; readonly experts: number; readonly topK: number; readonly body: readonly Step[] }
  | { readonly k: "residual"; readonly body: readonly Step[]; readonly shortcut: boolean }
  | { readonly k: "repeat"; readonly count: number; readonly body: readonly Step[] }
  | { readonly k: "block"; readonly body: readonly Step[]; readonly frozen: boolean };

export interface Layout {
  readonly indent: number;
  readonly spaces: boolean;
  readonly blankLines: boolean;
  readonly comments: boolean;
  readonly reversedOptions: boolean;
}

export interface SpecValue {
  readonly input: InputSpec;
  readonly steps: readonly Step[];
  /** Token inputs: end with an output layer tied to the embedding (`tie = wte`), when the shape allows. */
  readonly tieHead: boolean;
  /** Token inputs: the embedding's `padding_idx` (its row is read like any other in forward). */
  readonly paddingIdx: number | undefined;
  /** After a tied head, a layer back to the embedding width tied to its transpose (`tie = transpose(wte)`). */
  readonly tieBack: boolean;
  readonly layout: Layout;
}

// ── arbitraries ─────────────────────────────────────────────────────────────────────────────────────────

const small = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** A frozen layer with an odd output size freezes its `weight` alone (`frozen = weight`), the others the
 *  whole layer: derived from values drawn anyway, so the random stream (what a fixed seed covers) stays. */
const weightAlone = <S extends { readonly out: number; readonly frozen: boolean | "weight" }>(s: S): S =>
  s.frozen === true && s.out % 2 === 1 ? { ...s, frozen: "weight" } : s;

/** Leaf steps, weighted so that a few dozen specs reach every op kind (activations and pools have many
 *  variants; shapes make some steps drop out). */
const leafStep: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc
      .record({
        k: fc.constant("dense" as const),
        out: small(1, 6),
        bias: fc.boolean(),
        frozen: fc.boolean() as fc.Arbitrary<boolean | "weight">,
      })
      .map(weightAlone),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      k: fc.constant("act" as const),
      kind: fc.constantFrom(...plainActivations),
      opt: small(0, 3),
      on: fc.boolean(),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      k: fc.constant("softmax" as const),
      log: fc.boolean(),
      axis: small(-3, 2),
      written: fc.boolean(),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ k: fc.constant("prelu" as const), perChannel: fc.boolean() }), weight: 1 },
  {
    arbitrary: fc.record({
      k: fc.constant("norm" as const),
      kind: fc.constantFrom("layernorm", "rmsnorm", "batchnorm", "groupnorm", "instancenorm", "dropout"),
      affine: maybe(fc.boolean()),
      bias: maybe(fc.boolean()),
      track: maybe(fc.boolean()),
      eps: maybe(fc.constantFrom(1e-5, 1e-3, 0.1)),
      g: small(0, 3),
      frozen: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc
      .record({
        k: fc.constant("conv" as const),
        out: small(1, 4),
        kernel: small(1, 3),
        stride: small(1, 2),
        padding: small(0, 2),
        padWord: maybe(fc.constantFrom("same" as const, "valid" as const)),
        dilation: small(1, 2),
        g: small(0, 2),
        bias: fc.boolean(),
        frozen: fc.boolean() as fc.Arbitrary<boolean | "weight">,
      })
      .map(weightAlone),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      k: fc.constant("pool" as const),
      max: fc.boolean(),
      kernel: small(1, 3),
      stride: maybe(small(1, 3)),
      padding: small(0, 1),
      dilation: small(1, 2),
      ceil: fc.boolean(),
      countPad: fc.boolean(),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ k: fc.constant("adaptive" as const), size: small(1, 3) }), weight: 2 },
  { arbitrary: fc.constant({ k: "gap" as const }), weight: 2 },
  { arbitrary: fc.constant({ k: "flatten" as const }), weight: 1 },
  { arbitrary: fc.constant({ k: "transpose" as const }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant("pixel_shuffle" as const), r: small(1, 2) }), weight: 2 },
  {
    arbitrary: fc.record({ k: fc.constant("positional" as const), extra: small(0, 2), classToken: fc.boolean() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant("attention" as const),
      heads: small(0, 3),
      kv: small(0, 2),
      headDim: maybe(small(1, 4)),
      causal: fc.boolean(),
      bias: fc.boolean(),
      outBias: maybe(fc.boolean()),
      separate: fc.boolean(),
      rope: fc.boolean(),
      // (Four choices drawn as before the dense memory existed: the fixed seed's stream stays the same.)
      memory: fc.constantFrom("none" as const, "dense" as const, "tanh" as const, "class_token" as const),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant("recurrent" as const),
      kind: fc.constantFrom("rnn" as const, "lstm" as const, "gru" as const),
      hidden: small(1, 4),
      layers: small(1, 2),
      bidirectional: fc.boolean(),
      bias: fc.boolean(),
      last: fc.boolean(),
      relu: fc.boolean(),
      keras: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ k: fc.constant("rotary" as const), theta: maybe(fc.constantFrom(10.0, 500.0)) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant("convT" as const),
      out: small(1, 3),
      kernel: small(1, 3),
      stride: small(1, 2),
      padding: small(0, 1),
      outPad: small(0, 1),
      dilation: small(1, 2),
      g: small(0, 2),
      bias: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant("reduce" as const),
      take: fc.boolean(),
      axis: small(-3, 2),
      index: small(0, 4),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ k: fc.constant("reshape" as const), split: small(0, 3) }), weight: 1 },
  {
    arbitrary: fc.record({
      k: fc.constant("graph" as const),
      glu: fc.boolean(),
      width: small(1, 4),
      parts: small(2, 3),
    }),
    weight: 2,
  },
);

const steps: fc.Arbitrary<readonly Step[]> = fc.letrec<{ steps: readonly Step[]; step: Step }>((tie) => ({
  steps: fc.array(tie("step"), { minLength: 1, maxLength: 8 }),
  step: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { arbitrary: leafStep, weight: 8 },
    {
      arbitrary: fc.record({ k: fc.constant("residual" as const), body: tie("steps"), shortcut: fc.boolean() }),
      weight: 1,
    },
    {
      arbitrary: fc.record({ k: fc.constant("repeat" as const), count: small(0, 3), body: tie("steps") }),
      weight: 1,
    },
    {
      arbitrary: fc.record({ k: fc.constant("block" as const), body: tie("steps"), frozen: fc.boolean() }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        k: fc.constant("moe" as const),
        experts: small(1, 4),
        topK: small(1, 4),
        body: tie("steps"),
      }),
      weight: 1,
    },
  ),
})).steps;

export const inputArb: fc.Arbitrary<InputSpec> = fc.record({
  kind: fc.constantFrom<InputKind>("vec", "seq", "img1", "img2", "tok"),
  a: small(1, 5),
  b: small(1, 5),
  c: small(1, 4),
});

export const layoutArb: fc.Arbitrary<Layout> = fc.record({
  indent: small(1, 4),
  spaces: fc.boolean(),
  blankLines: fc.boolean(),
  comments: fc.boolean(),
  reversedOptions: fc.boolean(),
});

export const specArb: fc.Arbitrary<SpecValue> = fc.record({
  input: inputArb,
  steps,
  tieHead: fc.boolean(),
  paddingIdx: maybe(small(0, 6)),
  tieBack: fc.boolean(),
  layout: layoutArb,
});

// ── fitting steps to shapes, and printing ───────────────────────────────────────────────────────────────

/** The per-sample shape the fitter tracks: sizes, whether the first axis is a symbolic length, token ids. */
interface Shape {
  readonly dims: readonly number[];
  readonly seq: boolean;
  readonly tok?: number;
}

export interface Printed {
  readonly text: string;
  /** Op kinds the spec makes (`kind` as the IR names it, aliases resolved; `add` for residuals). */
  readonly kinds: ReadonlySet<string>;
}

const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const total = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
/** Values stay small: the interpreter and the module run every case. */
const maxElements = 400;
/** Most copies of any step once repeats and experts are expanded. */
const maxCopies = 8;

interface Line {
  readonly text: string;
  readonly body?: readonly Line[];
}

/** A call: positional arguments, then options (`name = value`). */
function callText(kind: string, args: readonly string[], opts: readonly [string, string][], layout: Layout): string {
  const eq = layout.spaces ? " = " : "=";
  const o = (layout.reversedOptions ? [...opts].reverse() : opts).map(([n, v]) => `${n}${eq}${v}`);
  const all = [...args, ...o];
  return all.length === 0 ? kind : `${kind}(${all.join(layout.spaces ? ",  " : ",")})`;
}

const aliasOf: Record<string, string> = { swish: "silu", hardsigmoid: "hard_sigmoid" };

/** Prints a spec value as `.nn` text (and the op kinds it makes). Deterministic. */
export function printSpec(spec: SpecValue): Printed {
  const { input, layout } = spec;
  const kinds = new Set<string>();
  const blocks: string[] = [];
  let blockCount = 0;
  let valueCount = 0;
  const opt = (cond: boolean, name: string, value: string): [string, string][] => (cond ? [[name, value]] : []);
  const frozenOpt = (f: boolean | "weight"): [string, string][] =>
    f === "weight" ? [["frozen", "weight"]] : opt(f, "frozen", "true");

  /** One step on a shape: its lines and the shape after, or undefined to leave it out. `keep`: the step
   *  must give the shape it was given (a residual's or a repeat's body). */
  const fit = (s: Step, sh: Shape, keep: boolean): { lines: Line[]; out: Shape } | undefined => {
    const d = sh.dims;
    const rank = d.length;
    const last = d[rank - 1]!;
    const one = (kind: string, text: string, out: Shape) => {
      kinds.add(aliasOf[kind] ?? kind);
      return { lines: [{ text }], out };
    };
    if (sh.tok !== undefined) return undefined; // only the embedding reads token ids
    const isImg = !sh.seq && (rank === 2 || rank === 3);
    switch (s.k) {
      case "dense": {
        if (rank !== 1 && !sh.seq) return undefined;
        const out = keep ? last : s.out;
        if ((total(d) / last) * out > maxElements) return undefined;
        return one(
          "dense",
          callText("dense", [String(out)], [...opt(!s.bias, "bias", "false"), ...frozenOpt(s.frozen)], layout),
          { ...sh, dims: [...d.slice(0, -1), out] },
        );
      }
      case "act": {
        const opts: [string, string][] = [];
        if (s.on) {
          if (s.kind === "leaky_relu") opts.push(["negative_slope", ["0.2", "0.01", "1.5", "-0.1"][s.opt]!]);
          if (s.kind === "elu") opts.push(["alpha", ["0.5", "1.0", "2.0", "0.1"][s.opt]!]);
          if (s.kind === "gelu") opts.push(["approximate", s.opt % 2 === 0 ? "tanh" : "none"]);
          if (s.kind === "softplus") {
            opts.push(["beta", ["0.5", "2.0", "1.0", "3.0"][s.opt]!]);
            if (s.opt >= 2) opts.push(["threshold", s.opt === 2 ? "0.5" : "5.0"]);
          }
        }
        return one(s.kind, callText(s.kind, [], opts, layout), sh);
      }
      case "softmax": {
        const axis = (((s.axis % rank) + rank) % rank) - (s.axis < 0 ? rank : 0);
        const kind = s.log ? "log_softmax" : "softmax";
        return one(kind, callText(kind, [], opt(s.written, "axis", String(axis)), layout), sh);
      }
      case "prelu": {
        const per = s.perChannel && !sh.seq && d[0]! > 1;
        return one("prelu", callText("prelu", [], opt(per, "num_parameters", String(d[0])), layout), sh);
      }
      case "norm": {
        const opts: [string, string][] = [];
        if (s.eps !== undefined && s.kind !== "dropout") opts.push(["eps", String(s.eps)]);
        switch (s.kind) {
          case "layernorm":
            if (s.affine !== undefined) opts.push(["affine", String(s.affine)]);
            if (s.bias !== undefined) opts.push(["bias", String(s.bias)]);
            break;
          case "rmsnorm":
          case "instancenorm":
            if (s.affine !== undefined) opts.push(["affine", String(s.affine)]);
            if (s.kind === "instancenorm" && !isImg) return undefined;
            break;
          case "batchnorm":
            if (sh.seq) return undefined;
            if (s.affine !== undefined) opts.push(["affine", String(s.affine)]);
            if (s.track !== undefined) opts.push(["track_running_stats", String(s.track)]);
            break;
          case "groupnorm": {
            if (!isImg) return undefined;
            const ds = divisors(d[0]!);
            if (s.affine !== undefined) opts.push(["affine", String(s.affine)]);
            kinds.add("groupnorm");
            const text = callText(
              "groupnorm",
              [String(ds[s.g % ds.length])],
              [...opts, ...frozenOpt(s.frozen)],
              layout,
            );
            return { lines: [{ text }], out: sh };
          }
          case "dropout":
            return one("dropout", callText("dropout", s.eps !== undefined ? [String(s.eps)] : [], [], layout), sh);
        }
        return one(s.kind, callText(s.kind, [], [...opts, ...frozenOpt(s.frozen)], layout), sh);
      }
      case "conv": {
        if (!isImg) return undefined;
        const C = d[0]!;
        const sp = d.slice(1);
        const kind = rank === 2 ? "conv1d" : "conv2d";
        let out: number, k: number, stride: number, pad: number, dil: number;
        if (keep) {
          // Same size: odd kernel, stride 1, padding dilation·(k − 1)/2, out = C.
          out = C;
          k = s.kernel % 2 === 0 ? s.kernel - 1 : s.kernel;
          stride = 1;
          dil = s.dilation;
          pad = (dil * (k - 1)) / 2;
        } else {
          out = s.out;
          dil = s.dilation;
          pad = s.padding;
          stride = s.stride;
          k = s.kernel;
          // The dilated kernel fits the padded input on every spatial axis.
          while (k > 1 && sp.some((L) => dil * (k - 1) + 1 > L + 2 * pad)) k--;
          if (sp.some((L) => dil * (k - 1) + 1 > L + 2 * pad)) dil = 1;
        }
        // `same` (stride 1; PyTorch pads dil·(k − 1) split left ⌊·/2⌋, right the rest) or `valid` (0).
        let padText = String(pad);
        if (s.padWord === "same") {
          stride = 1;
          padText = "same";
        } else if (s.padWord === "valid" && !keep) {
          pad = 0;
          padText = "valid";
          while (k > 1 && sp.some((L) => dil * (k - 1) + 1 > L)) k--;
          if (sp.some((L) => dil * (k - 1) + 1 > L)) dil = 1;
        }
        const gs = divisors(gcd(C, out));
        const g = gs[s.g % gs.length]!;
        const outSp =
          padText === "same" ? sp : sp.map((L) => Math.floor((L + 2 * pad - dil * (k - 1) - 1) / stride) + 1);
        if (out * total(outSp) > maxElements) return undefined;
        // What the padding holds, derived from values drawn anyway (the random stream stays): reflect needs
        // each side's padding below the size, circular at most the size; replicate takes any.
        const widest = padText === "same" ? dil * (k - 1) - Math.floor((dil * (k - 1)) / 2) : pad;
        let padMode = ["zeros", "reflect", "replicate", "circular"][(s.out + s.kernel + s.stride) % 4]!;
        if (
          (padMode === "reflect" && widest >= Math.min(...sp)) ||
          (padMode === "circular" && widest > Math.min(...sp))
        )
          padMode = "replicate";
        const opts: [string, string][] = [
          ...opt(stride !== 1, "stride", String(stride)),
          ...opt(pad !== 0 || padText !== String(pad), "padding", padText),
          ...opt(padMode !== "zeros" && widest > 0, "padding_mode", padMode),
          ...opt(dil !== 1, "dilation", String(dil)),
          ...opt(g !== 1, "groups", String(g)),
          ...opt(!s.bias, "bias", "false"),
          ...frozenOpt(s.frozen),
        ];
        return one(kind, callText(kind, [String(out), String(k)], opts, layout), { ...sh, dims: [out, ...outSp] });
      }
      case "pool": {
        if (!isImg || keep) return undefined;
        const sp = d.slice(1);
        const kind = `${s.max ? "max" : "avg"}_pool${rank === 2 ? "1d" : "2d"}`;
        let k = s.kernel;
        const dil = s.max ? s.dilation : 1;
        while (k > 1 && sp.some((L) => dil * (k - 1) + 1 > L)) k--;
        if (sp.some((L) => dil * (k - 1) + 1 > L)) return undefined;
        const stride = s.stride ?? k;
        // PyTorch: padding at most half the kernel.
        const pad = Math.min(s.padding, Math.floor(k / 2));
        const outLen = (L: number) => {
          const span = L + 2 * pad - dil * (k - 1) - 1;
          let o = (s.ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
          if (s.ceil && (o - 1) * stride >= L + pad) o--;
          return o;
        };
        const outSp = sp.map(outLen);
        // A max window that reads only padding is refused (NN4002): leave such options out.
        if (s.max) {
          const empty = sp.some((L, axis) =>
            Array.from({ length: outSp[axis]! }, (_, o) => o).some((o) =>
              Array.from({ length: k }, (_, j) => o * stride - pad + j * dil).every((i) => i < 0 || i >= L),
            ),
          );
          if (empty)
            return one(kind, callText(kind, [String(k)], [], layout), {
              ...sh,
              dims: [d[0]!, ...sp.map((L) => Math.floor((L - k) / k) + 1)],
            });
        }
        const opts: [string, string][] = [
          ...opt(s.stride !== undefined, "stride", String(stride)),
          ...opt(pad !== 0, "padding", String(pad)),
          ...opt(dil !== 1, "dilation", String(dil)),
          ...opt(s.ceil, "ceil_mode", "true"),
          ...opt(!s.max && !s.countPad, "count_include_pad", "false"),
        ];
        return one(kind, callText(kind, [String(k)], opts, layout), { ...sh, dims: [d[0]!, ...outSp] });
      }
      case "adaptive": {
        if (!isImg || keep) return undefined;
        const kind = `adaptive_avg_pool${rank === 2 ? "1d" : "2d"}`;
        return one(kind, callText(kind, [String(s.size)], [], layout), {
          ...sh,
          dims: [d[0]!, ...d.slice(1).map(() => s.size)],
        });
      }
      case "gap":
        if (!isImg || keep) return undefined;
        return one("global_avg_pool", "global_avg_pool", { dims: [d[0]!], seq: false });
      case "flatten":
        if (rank < 2 || keep || sh.seq) return undefined;
        return one("flatten", "flatten", { dims: [total(d)], seq: false });
      case "transpose":
        if (rank < 2 || sh.seq || (keep && d[0] !== d[1])) return undefined;
        return one("transpose", callText("transpose", ["0", "1"], [], layout), {
          ...sh,
          dims: [d[1]!, d[0]!, ...d.slice(2)],
        });
      case "pixel_shuffle": {
        if (rank !== 3 || sh.seq || (keep && s.r !== 1) || d[0]! % (s.r * s.r) !== 0) return undefined;
        return one("pixel_shuffle", callText("pixel_shuffle", [String(s.r)], [], layout), {
          ...sh,
          dims: [d[0]! / (s.r * s.r), d[1]! * s.r, d[2]! * s.r],
        });
      }
      case "positional": {
        if (!sh.seq) return undefined;
        if (s.classToken && !keep) {
          if ((d[0]! + 1) * d[1]! > maxElements) return undefined;
          return one("class_token", callText("class_token", [String(d[1])], [], layout), {
            ...sh,
            dims: [d[0]! + 1, d[1]!],
          });
        }
        return one("positional", callText("positional", [String(d[0]! + s.extra), String(d[1])], [], layout), sh);
      }
      case "attention": {
        if (!sh.seq) return undefined;
        const [, Dm] = d as [number, number];
        const hs = divisors(Dm);
        const heads = hs[s.heads % hs.length]!;
        const kvs = divisors(heads);
        const kv = kvs[s.kv % kvs.length]!;
        const hd = s.headDim ?? Dm / heads;
        const cross = s.memory !== "none" && (s.memory === "tanh" || (d[0]! + 1) * Dm <= maxElements);
        const rope = s.rope && hd % 2 === 0 && !cross;
        const opts: [string, string][] = [
          ...opt(kv !== heads, "kv_heads", String(kv)),
          ...opt(s.headDim !== undefined, "head_dim", String(hd)),
          ...opt(s.causal && !cross, "causal", "true"),
          ...opt(!s.bias, "bias", "false"),
          ...opt(s.outBias !== undefined, "out_bias", String(s.outBias)),
          ...opt(s.separate, "qkv", "separate"),
          // `k_bias` (HF Whisper's bias-free k_proj) with separate projections and a given out_bias: the
          // opposite of out_bias, read from that draw so that the fixed seed's stream (which reaches every
          // kind) stays the same; both values, with either `bias`, are reached.
          ...opt(s.separate && s.outBias !== undefined, "k_bias", String(!s.outBias)),
          ...opt(rope, "rope", "true"),
          // add_bias_kv, from the draws already made (the fixed seed's stream stays the same); not with
          // causal or rope (NN4033).
          ...opt(!(s.causal && !cross) && !rope && (s.heads + s.kv) % 3 === 1, "add_bias_kv", "true"),
        ];
        const call = () => callText("attention", [String(heads)], opts, layout);
        if (!cross) return one("attention", call(), sh);
        // `[query, memory] -> attention(…)`: the query named as it is, the memory made from it.
        const [qName, mName] = [`_q${valueCount}`, `_m${valueCount++}`];
        // A dense memory's width (kdim, vdim), 1 to 4, from the draws already made.
        const memoryWidth = 1 + ((s.heads + s.kv) % 4);
        const memory =
          s.memory === "tanh"
            ? "tanh"
            : s.memory === "dense"
              ? callText("dense", [String(memoryWidth)], [], layout)
              : callText("class_token", [String(Dm)], [], layout);
        if (s.memory === "dense" && memoryWidth !== Dm)
          opts.push(["kdim", String(memoryWidth)], ["vdim", String(memoryWidth)]);
        for (const k of ["identity", s.memory, "attention"]) kinds.add(k);
        return {
          lines: [
            { text: `${qName} = identity` },
            { text: `${mName} = ${memory}` },
            { text: `[${qName}, ${mName}] -> ${call()}` },
          ],
          out: sh,
        };
      }
      case "recurrent": {
        if (!sh.seq) return undefined;
        const Dm = d[1]!;
        let hidden = s.hidden;
        let bi = s.bidirectional;
        if (keep) {
          bi = bi && Dm % 2 === 0;
          hidden = bi ? Dm / 2 : Dm;
        }
        // The last step only (bidirectional: each direction's final state, see the interpreter).
        const last = s.last && !keep;
        const width = hidden * (bi ? 2 : 1);
        const opts: [string, string][] = [
          ...opt(s.layers !== 1, "layers", String(s.layers)),
          ...opt(bi, "bidirectional", "true"),
          ...opt(!s.bias, "bias", "false"),
          ...opt(last, "sequences", "false"),
          ...opt(s.kind === "rnn" && s.relu, "nonlinearity", "relu"),
          ...opt(s.keras && s.bias, "bias_convention", "keras"),
        ];
        return one(
          s.kind,
          callText(s.kind, [String(hidden)], opts, layout),
          last ? { dims: [width], seq: false } : { ...sh, dims: [d[0]!, width] },
        );
      }
      case "rotary":
        if (!sh.seq || d[1]! % 2 !== 0) return undefined;
        return one("rotary", callText("rotary", [], opt(s.theta !== undefined, "theta", String(s.theta)), layout), sh);
      case "convT": {
        if (!isImg || rank !== 3 || keep) return undefined;
        const [C, H, W] = d as [number, number, number];
        const gs = divisors(gcd(C, s.out));
        const g = gs[s.g % gs.length]!;
        // PyTorch: output_padding below stride or dilation.
        const outPad = s.outPad < Math.max(s.stride, s.dilation) ? s.outPad : 0;
        const size = (L: number) => (L - 1) * s.stride - 2 * s.padding + s.dilation * (s.kernel - 1) + outPad + 1;
        if (size(H) < 1 || size(W) < 1 || s.out * size(H) * size(W) > maxElements) return undefined;
        const opts: [string, string][] = [
          ...opt(s.stride !== 1, "stride", String(s.stride)),
          ...opt(s.padding !== 0, "padding", String(s.padding)),
          ...opt(outPad !== 0, "output_padding", String(outPad)),
          ...opt(g !== 1, "groups", String(g)),
          ...opt(s.dilation !== 1, "dilation", String(s.dilation)),
          ...opt(!s.bias, "bias", "false"),
        ];
        return one("conv_transpose2d", callText("conv_transpose2d", [String(s.out), String(s.kernel)], opts, layout), {
          dims: [s.out, size(H), size(W)],
          seq: false,
        });
      }
      case "reduce": {
        if (keep || rank < 2) return undefined;
        // On a sequence only `take(0)` (its class token): a symbolic axis is not reduced here.
        if (sh.seq && !s.take) return undefined;
        const axis = sh.seq ? 0 : ((s.axis % rank) + rank) % rank;
        const index = sh.seq ? 0 : s.index % d[axis]!;
        const kind = s.take ? "take" : "mean";
        const opts = opt(axis !== 0, "axis", String(axis === rank - 1 && s.axis < 0 ? -1 : axis));
        return one(kind, callText(kind, s.take ? [String(index)] : [], opts, layout), {
          dims: d.filter((_, i) => i !== axis),
          seq: false,
        });
      }
      case "reshape": {
        if (keep || sh.seq) return undefined;
        const t = total(d);
        const ds = divisors(t);
        const a = ds[s.split % ds.length]!;
        const dims = s.split === 0 ? [t] : [a, t / a];
        return one("reshape", callText("reshape", [`[${dims.join(", ")}]`], [], layout), { dims, seq: false });
      }
      case "graph": {
        // A block of named values: a gated unit (`a * b` or `a - b -> abs`, dense on the last axis, the gate
        // broadcast over a sequence or not) or a split and a concat
        // of the parts in reverse order (the last axis).
        const name = `G${blockCount++}`;
        let bodyLines: string[];
        let outShape: Shape;
        if (s.glu) {
          if (rank !== 1 && !sh.seq) return undefined;
          const width = keep ? last : s.width;
          // The gate per position, or (over a sequence) one gate per sample broadcast over the positions
          // (squeeze-and-excitation); multiplied, or subtracted and taken absolute.
          const perSample = sh.seq === true && s.parts % 3 === 0;
          const subtract = s.parts % 2 === 0;
          bodyLines = [
            `a = x -> ${callText("dense", [String(width)], [], layout)}`,
            `b = x${perSample ? " -> mean" : ""} -> ${callText("dense", [String(width)], [], layout)} -> sigmoid`,
            subtract ? "a - b -> abs" : "a * b",
          ];
          kinds
            .add("dense")
            .add("sigmoid")
            .add(subtract ? "sub" : "mul");
          if (subtract) kinds.add("abs");
          if (perSample) kinds.add("mean");
          outShape = { ...sh, dims: [...d.slice(0, -1), width] };
        } else if (last % s.parts !== 0) {
          // A learned tensor of the last axis's size broadcast into the value, multiplied (LayerScale) or
          // added (a learned bias); derived from values drawn anyway, so the random stream stays.
          const scale = s.width % 2 === 0;
          bodyLines = [
            `g = ${callText(
              "parameter",
              [String(last)],
              [
                ["init", scale ? "ones" : "normal"],
                ["scale", "0.5"],
              ],
              layout,
            )} as gamma`,
            scale ? "x * g" : "x + g",
          ];
          kinds.add("parameter").add(scale ? "mul" : "add");
          outShape = sh;
        } else {
          const names = Array.from({ length: s.parts }, (_, i) => `p${i}`);
          bodyLines = [
            `${names.join(", ")} = x -> ${callText("split", [String(s.parts)], [], layout)}`,
            `[${[...names].reverse().join(", ")}] -> ${callText("concat", [], [["axis", "-1"]], layout)}`,
          ];
          kinds.add("split").add("concat");
          outShape = sh;
        }
        blocks.push(
          render(
            [{ text: `block ${name}`, body: [{ text: "input x" }, ...bodyLines.map((text) => ({ text }))] }],
            layout,
            0,
          ).join("\n"),
        );
        return { lines: [{ text: name }], out: outShape };
      }
      case "moe": {
        if (rank !== 1 && !sh.seq) return undefined;
        const experts = Math.max(1, Math.min(s.experts + 1, Math.floor(maxCopies / copies)));
        const body = within(experts, () => fitAll(s.body, sh, true));
        if (body.lines.length === 0) return undefined;
        const topK = Math.min(s.topK, experts);
        kinds.add("moe_combine").add("dense");
        return {
          lines: [{ text: callText("moe", [String(experts), String(topK)], [], layout), body: body.lines }],
          out: sh,
        };
      }
      case "residual": {
        const body = fitAll(s.body, sh, true);
        if (body.lines.length === 0) return undefined;
        kinds.add("add");
        // A shortcut of its own: a dense layer on the last axis, to the same width.
        const shortcut = s.shortcut && (rank === 1 || sh.seq);
        const head = shortcut ? callText("residual", [], [["shortcut", `{ dense(${last}) }`]], layout) : "residual";
        return { lines: [{ text: head, body: body.lines }], out: sh };
      }
      case "repeat": {
        const count = Math.min(s.count, Math.floor(maxCopies / copies));
        const body = within(count, () => fitAll(s.body, sh, true));
        if (body.lines.length === 0) return undefined;
        return { lines: [{ text: `repeat ${count}`, body: body.lines }], out: sh };
      }
      case "block": {
        const body = fitAll(s.body, sh, keep);
        if (body.lines.length === 0) return undefined;
        const name = `B${blockCount++}`;
        blocks.push(render([{ text: `block ${name}`, body: body.lines }], layout, 0).join("\n"));
        const call = callText(name, [], frozenOpt(s.frozen), layout);
        // Every other block whose body keeps the shape is named and applied again (`share`: PyTorch's
        // module reuse), chosen by the block counter so that the random stream is unchanged.
        const same = body.out.dims.length === d.length && body.out.dims.every((x, i) => x === d[i]);
        if (blockCount % 2 === 1 || !same || body.out.seq !== sh.seq) return { lines: [{ text: call }], out: body.out };
        const instance = `s${name.slice(1)}`;
        return {
          lines: [{ text: `${call} as ${instance}` }, { text: callText(name, [], [["share", instance]], layout) }],
          out: body.out,
        };
      }
    }
  };

  /** Copies of what is being fitted (the product of the enclosing repeat counts and expert counts): kept at
   *  most `maxCopies`, so that the expanded graph stays small. */
  let copies = 1;
  function within<T>(k: number, f: () => T): T {
    const saved = copies;
    copies *= Math.max(k, 1);
    try {
      return f();
    } finally {
      copies = saved;
    }
  }

  const fitAll = (ss: readonly Step[], sh: Shape, keep: boolean): { lines: Line[]; out: Shape } => {
    const lines: Line[] = [];
    let cur = sh;
    for (const s of ss) {
      const r = fit(s, cur, keep);
      if (!r) continue;
      if (keep && JSON.stringify(r.out) !== JSON.stringify(cur)) continue;
      lines.push(...r.lines);
      cur = r.out;
    }
    return { lines, out: cur };
  };

  const { a, b, c } = input;
  let decl: string;
  let sh: Shape;
  const head: Line[] = [];
  switch (input.kind) {
    case "vec":
      decl = `x: f64[${a * b}]`;
      sh = { dims: [a * b], seq: false };
      break;
    case "seq":
      decl = `x: f64[s <= ${a}, ${b}]`;
      sh = { dims: [a, b], seq: true };
      break;
    case "img1":
      decl = `x: f64[${a}, ${b + 1}]`;
      sh = { dims: [a, b + 1], seq: false };
      break;
    case "img2":
      decl = `x: f64[${a}, ${b + 1}, ${c + 1}]`;
      sh = { dims: [a, b + 1, c + 1], seq: false };
      break;
    case "tok":
      decl = `x: token[${a}] of ${b + 2}`;
      head.push({
        text: `${callText("embedding", [String(b + 2), String(c)], spec.paddingIdx === undefined ? [] : [["padding_idx", String(spec.paddingIdx % (b + 2))]], layout)} as wte`,
      });
      kinds.add("embedding");
      sh = { dims: [a, c], seq: true };
      break;
  }
  const body = fitAll(spec.steps, sh, false);
  const lines = [...head, ...body.lines];
  const end = body.out;
  if (input.kind === "tok" && spec.tieHead && end.seq && end.dims.length === 2 && end.dims[1] === c) {
    lines.push({
      text: callText(
        "dense",
        [String(b + 2)],
        [
          ["bias", "false"],
          ["tie", "wte"],
        ],
        layout,
      ),
    });
    kinds.add("dense");
    if (spec.tieBack)
      lines.push({
        text: callText(
          "dense",
          [String(c)],
          [
            ["bias", "false"],
            ["tie", "transpose(wte)"],
          ],
          layout,
        ),
      });
  }

  if (lines.length === 0) {
    lines.push({ text: "identity" });
    kinds.add("identity");
  }
  const model = render([{ text: `model M(${decl})`, body: lines }], layout, 0).join("\n");
  const sep = layout.blankLines ? "\n\n\n" : "\n\n";
  const text = `${layout.comments ? "# a generated spec\n" : ""}${[...blocks, model].join(sep)}\n`;
  return { text, kinds };
}

function render(lines: readonly Line[], layout: Layout, depth: number): string[] {
  const pad = " ".repeat(layout.indent * depth);
  const out: string[] = [];
  lines.forEach((l, i) => {
    const comment = layout.comments && i % 2 === 1 ? `  # step ${i}` : "";
    if (l.body) {
      out.push(`${pad}${l.text}${layout.spaces ? "  " : " "}{${comment}`);
      out.push(...render(l.body, layout, depth + 1));
      out.push(`${pad}}`);
    } else out.push(`${pad}${l.text}${comment}`);
    if (layout.blankLines && i % 3 === 2) out.push("");
  });
  return out;
}
