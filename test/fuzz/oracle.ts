// The semantic fuzzer's oracle: what every generated case must end in. Checking never throws, and every
// diagnostic is catalogued, worded and located inside its file (never an "internal error"); a value moved
// beyond its declared range is refused with its code, at the value; a spec that checks clean and is small
// builds (float64) into a module whose parameter count is the checker's, whose outputs are finite and
// deterministic, and whose backward agrees with central finite differences of the forward; a spec with a
// `loss` trains one step to a finite loss. All within a time budget per case.
import { catalogue } from "../../src/diagnostics/catalogue.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { compile } from "../../src/emit/compile.js";
import { format } from "../../src/format/format.js";
import { transformSync } from "esbuild";
import type { Host } from "../../src/program/host.js";
import { checkProgram } from "../../src/program/check.js";
import { rng as makeRng } from "./rng.js";
import type { FuzzCase } from "./spec-gen.js";

/** A generated module, loosely typed (float64 build). */
interface Module {
  paramCount: number;
  inputs: readonly { name: string; shape: readonly number[]; size: number; dtype: string; vocab?: number }[];
  outputs: readonly { shape: readonly number[]; size: number }[];
  params: readonly { name: string; offset: number; size: number; trainable: boolean }[];
  createParams(seed?: number): Float64Array;
  createBuffers(): Float64Array;
  forward(p: Float64Array, input: unknown, n: number, options?: Record<string, unknown>): Float64Array | Float64Array[];
  backward(p: Float64Array, outputGrad: unknown, grads: Float64Array): Float64Array | Float64Array[] | void;
  createTrainer?(options: Record<string, unknown>): { params: Float64Array };
  trainStep?(trainer: unknown, input: unknown, target: ArrayLike<number>, n: number): number;
}

/** Turns a module's TypeScript into a loaded module. */
export type ModuleLoader = (ts: string) => Promise<unknown>;

/** The default loader: esbuild strips the types and makes a CommonJS body, run with `new Function`.
 *  Generated modules import nothing, so this needs no module system — and unlike `import()`, which keeps
 *  every module for the life of the process, a module loaded so is garbage once its case ends (thousands
 *  of cases in one process stay in bounded memory). Much faster than `toJavaScript`, whose isolated
 *  declaration emit the plugin needs but these checks do not. */
export const functionLoader: ModuleLoader = async (ts) => {
  const { code } = transformSync(ts, { loader: "ts", format: "cjs", target: "es2022" });
  const module = { exports: {} as Record<string, unknown> };
  new Function("module", "exports", code)(module, module.exports);
  return module.exports;
};

export interface Budgets {
  /** Wall time per case, milliseconds (check + build + load + numeric checks). */
  readonly caseMs: number;
  /** Cases whose models have more parameters than this are checked but not built. */
  readonly buildParams: number;
}

export const defaultBudgets: Budgets = { caseMs: 20_000, buildParams: 20_000 };

export type Stage = "check" | "format" | "beyond" | "build" | "load" | "numeric" | "train" | "budget";

export interface Failure {
  readonly stage: Stage;
  readonly message: string;
}

export interface Outcome {
  /** `refused`: ended in error diagnostics; `built`: a module passed the numeric checks; `unbuilt`: checked
   *  clean, too large to build (budget); `failed`: see `failures`. */
  readonly kind: "refused" | "built" | "unbuilt" | "failed";
  readonly failures: readonly Failure[];
  /** Error codes reported (check, then build). */
  readonly codes: readonly string[];
  readonly ms: number;
  /** Milliseconds per stage (check, build, load, numeric). */
  readonly stageMs: Readonly<Record<string, number>>;
  /** Gradient elements compared against finite differences. */
  readonly gradientChecks: number;
}

const knownCodes = new Set(Object.values(catalogue).map((e) => e.code));

export function memoryHost(files: Readonly<Record<string, string>>): Host {
  return {
    readFile: (f) => (Object.hasOwn(files, f) ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }),
  };
}

/** Problems with the diagnostics themselves: uncatalogued, unworded, outside their file, internal. */
function diagnosticProblems(diagnostics: readonly Diagnostic[], files: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const d of diagnostics) {
    const where = `${d.code} "${d.message}"`;
    if (!knownCodes.has(d.code)) problems.push(`${where}: code not in the catalogue`);
    if (d.code === catalogue.FormatterFault.code) problems.push(`${where}: an internal fault`);
    if (d.message.trim() === "") problems.push(`${d.code}: empty message`);
    if (/internal error|bug in nnc|\[object |undefined|function \(|=>/.test(d.message))
      problems.push(`${where}: reads like an internal error`);
    for (const span of [d.span, ...d.labels.map((l) => l.span)]) {
      if (!span) continue;
      const text = files[span.file];
      if (text === undefined) continue;
      if (!(
        span.start >= 0 &&
        span.start <= span.end &&
        span.end <= text.length &&
        span.line >= 1 &&
        span.column >= 1
      )) {
        problems.push(
          `${where}: span ${span.start}..${span.end} (${span.line}:${span.column}) outside ${span.file} (${text.length} chars)`,
        );
      }
    }
  }
  return problems;
}

const errorsOf = (ds: readonly Diagnostic[]) => ds.filter((d) => d.severity === "error");

/** Runs one case through the oracle. Never throws: a throw anywhere is a failure of its stage. */
export async function runCase(
  c: FuzzCase,
  load: ModuleLoader = functionLoader,
  budgets: Budgets = defaultBudgets,
): Promise<Outcome> {
  const started = performance.now();
  const failures: Failure[] = [];
  const codes: string[] = [];
  let gradientChecks = 0;
  const stageMs: Record<string, number> = {};
  let mark = started;
  const lap = (stage: string) => {
    const now = performance.now();
    stageMs[stage] = (stageMs[stage] ?? 0) + now - mark;
    mark = now;
  };
  const finish = (kind: Outcome["kind"]): Outcome => {
    const ms = performance.now() - started;
    if (ms > budgets.caseMs)
      failures.push({ stage: "budget", message: `took ${ms.toFixed(0)} ms (budget ${budgets.caseMs} ms)` });
    return { kind: failures.length > 0 ? "failed" : kind, failures, codes, ms, stageMs, gradientChecks };
  };
  const host = memoryHost(c.files);

  // ── check ──
  let checked: ReturnType<typeof checkProgram>;
  try {
    checked = checkProgram(c.entry, host);
  } catch (error) {
    failures.push({ stage: "check", message: `checkProgram threw: ${describe(error)}` });
    return finish("failed");
  }
  for (const p of diagnosticProblems(checked.diagnostics, c.files)) failures.push({ stage: "check", message: p });
  const errors = errorsOf(checked.diagnostics);
  lap("check");

  // ── nnc fmt: every generated file prints in canonical form (faithfully: format checks the tree) and
  // formatting that again changes nothing ──
  for (const [file, text] of Object.entries(c.files)) {
    try {
      const once = format(text, file);
      if (once.value === null) {
        if (!once.diagnostics.some((d) => d.code.startsWith("NN1")))
          failures.push({
            stage: "format",
            message: `${file}: ${once.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`,
          });
        continue;
      }
      const twice = format(once.value, file);
      if (twice.value !== once.value)
        failures.push({ stage: "format", message: `${file}: formatting the canonical text changes it` });
    } catch (error) {
      failures.push({ stage: "format", message: `format threw on ${file}: ${describe(error)}` });
    }
  }
  lap("format");
  codes.push(...errors.map((d) => d.code));

  if (c.mode === "beyond" && c.injected) {
    const inj = c.injected;
    if (errors.length === 0) {
      failures.push({ stage: "beyond", message: `${inj.what} = ${inj.text} (outside its range) checked clean` });
    } else {
      // When the case checked clean before the injection, the injected value is what must be refused: by
      // its code, and (a value written at the option) at the value itself.
      let cleanBefore = false;
      try {
        cleanBefore =
          c.before !== undefined && errorsOf(checkProgram(c.entry, memoryHost(c.before)).diagnostics).length === 0;
      } catch (error) {
        failures.push({
          stage: "check",
          message: `checkProgram threw on the case before injection: ${describe(error)}`,
        });
      }
      if (cleanBefore) {
        const withCode = errors.filter((d) => d.code === inj.code);
        if (withCode.length === 0) {
          failures.push({
            stage: "beyond",
            message: `${inj.what} = ${inj.text}: expected ${inj.code}, got ${errors.map((d) => `${d.code} ${d.message}`).join("; ")}`,
          });
        } else if (
          inj.direct &&
          !withCode.some((d) => d.span && c.files[d.span.file]?.slice(d.span.start, d.span.end) === inj.text)
        ) {
          failures.push({
            stage: "beyond",
            message: `${inj.what} = ${inj.text}: ${inj.code} is not located at the value`,
          });
        }
      }
    }
    return finish(failures.length > 0 ? "failed" : "refused");
  }
  if (errors.length > 0) return finish("refused");
  const model = checked.value.models[0];
  if (!model) return finish("refused");
  if (model.figures.params > BigInt(budgets.buildParams)) return finish("unbuilt");

  // ── build (float64) ──
  let text: string;
  try {
    const built = await compile(c.files[c.entry]!, { dtype: "float64", format: false }, c.entry, host);
    for (const p of diagnosticProblems(built.diagnostics, c.files)) failures.push({ stage: "build", message: p });
    const buildErrors = errorsOf(built.diagnostics);
    codes.push(...buildErrors.map((d) => d.code));
    if (buildErrors.length > 0) {
      // The code generator may refuse what it cannot emit (NN9xxx); refusing for any other reason a spec
      // that checked clean means the checker and the build disagree.
      const other = buildErrors.filter((d) => !d.code.startsWith("NN9"));
      if (other.length > 0)
        failures.push({
          stage: "build",
          message: `checked clean but the build reports ${other.map((d) => `${d.code} ${d.message}`).join("; ")}`,
        });
      return finish("refused");
    }
    if (built.files.length !== 1) {
      failures.push({ stage: "build", message: `expected one module, got ${built.files.length}` });
      return finish("failed");
    }
    text = built.files[0]!.text;
    lap("build");
  } catch (error) {
    failures.push({ stage: "build", message: `compile threw: ${describe(error)}` });
    return finish("failed");
  }

  // ── load ──
  let m: Module;
  try {
    m = (await load(text)) as Module;
    lap("load");
  } catch (error) {
    failures.push({ stage: "load", message: `the module does not load: ${describe(error)}` });
    return finish("failed");
  }

  // ── numbers ──
  try {
    gradientChecks = numericChecks(m, c, model.figures.params, failures);
  } catch (error) {
    failures.push({ stage: "numeric", message: `threw: ${describe(error)}` });
  }
  lap("numeric");
  if (c.files[c.entry]!.includes("\n  loss ")) {
    try {
      trainCheck(m, c, failures);
    } catch (error) {
      failures.push({ stage: "train", message: `threw: ${describe(error)}` });
    }
  }
  lap("train");
  return finish("built");
}

function describe(error: unknown): string {
  if (error instanceof Error)
    return `${error.name}: ${error.message}${error.stack ? `\n${error.stack.split("\n").slice(1, 6).join("\n")}` : ""}`;
  return String(error);
}

/** Inputs for `n` samples: token ids below the vocabulary, floats in [-1, 1). */
function makeInputs(m: Module, n: number, seed: number, avoid: readonly number[] = []): (Float64Array | Int32Array)[] {
  const r = makeRng(seed);
  const id = (vocab: number) => {
    for (;;) {
      const t = r.int(0, vocab - 1);
      if (!avoid.includes(t) || avoid.length >= vocab) return t;
    }
  };
  return m.inputs.map((input) =>
    input.dtype === "token"
      ? Int32Array.from({ length: n * input.size }, () => id(input.vocab ?? 1))
      : Float64Array.from({ length: n * input.size }, () => r.next() * 2 - 1),
  );
}

const pack = <T>(xs: readonly T[]): T | readonly T[] => (xs.length === 1 ? xs[0]! : xs);
const unpack = (y: Float64Array | Float64Array[] | void): Float64Array[] =>
  y === undefined ? [] : Array.isArray(y) ? y : [y];

/** The forward/backward checks; returns the number of gradient elements compared. */
function numericChecks(m: Module, c: FuzzCase, params: bigint, failures: Failure[]): number {
  if (BigInt(m.paramCount) !== params)
    failures.push({
      stage: "numeric",
      message: `the module has ${m.paramCount} parameters, the checker counts ${params}`,
    });
  const n = 2;
  const p = m.createParams(1);
  if (p.length !== m.paramCount || !p.every(Number.isFinite))
    failures.push({ stage: "numeric", message: "createParams gave non-finite or misplaced values" });
  // Away from PyTorch's initialization by a little: zero-initialized tensors (a class token, an
  // embedding's padding row) make every router logit of a token equal, so `moe`'s top-k choice is a tie and
  // the output has a jump exactly there — no finite difference agrees with any gradient at such a point.
  const jitter = makeRng(c.seed ^ 0x7e55);
  for (let i = 0; i < p.length; i++) p[i] = p[i]! + (jitter.next() * 2 - 1) * 0.05;
  // No token is an embedding's padding_idx: PyTorch leaves that row out of the lookup's gradient by design
  // (nn.Embedding: "the entries at padding_idx do not contribute to the gradient"), so there the backward is
  // not the derivative of the forward. The row still gets the gradient of a layer tied to it.
  const xs = makeInputs(m, n, c.seed ^ 0x5eed, c.paddingIds);
  const options = () => ({ training: c.training, seed: 3, buffers: m.createBuffers() });
  const run = (pp: Float64Array, inputs: readonly (Float64Array | Int32Array)[]) =>
    unpack(m.forward(pp, pack(inputs), n, options())).map((y) => Float64Array.from(y));
  const ys = run(p, xs);
  if (ys.length !== m.outputs.length)
    failures.push({ stage: "numeric", message: `forward returned ${ys.length} outputs for ${m.outputs.length}` });
  ys.forEach((y, i) => {
    if (y.length !== n * m.outputs[i]!.size)
      failures.push({
        stage: "numeric",
        message: `output ${i} has ${y.length} values for ${n} × ${m.outputs[i]!.size}`,
      });
    if (!y.every(Number.isFinite))
      failures.push({
        stage: "numeric",
        message: `output ${i} is not finite: ${Array.from(y.slice(0, 6)).join(", ")}`,
      });
  });
  const again = run(p, xs);
  if (!again.every((y, i) => y.every((v, j) => Object.is(v, ys[i]![j]))))
    failures.push({ stage: "numeric", message: "forward is not deterministic" });
  if (failures.length > 0) return 0;

  // L = Σ w·y over every output; backward from ∂L/∂y = w.
  const r = makeRng(c.seed ^ 0xbac4);
  const ws = ys.map((y) => Float64Array.from(y, () => r.next() * 2 - 1));
  const lossOf = (outs: Float64Array[]) => outs.reduce((s, y, i) => y.reduce((t, v, j) => t + v * ws[i]![j]!, s), 0);
  const scale = ys.reduce((s, y, i) => y.reduce((t, v, j) => t + Math.abs(v * ws[i]![j]!), s), 0);
  m.forward(p, pack(xs), n, options());
  const grads = new Float64Array(m.paramCount);
  const inputGrads = unpack(m.backward(p, pack(ws.map((w) => Float64Array.from(w))), grads)).map((g) =>
    Float64Array.from(g),
  );
  if (!grads.every(Number.isFinite)) failures.push({ stage: "numeric", message: "parameter gradients are not finite" });

  const h = 1e-5;
  const atol = 1e-7 * (1 + scale);
  let compared = 0;
  /** Whether `analytic` agrees with a difference quotient of f at 0: central, or (at a kink of relu, max,
   *  top-k routing…) a second-order one-sided one on either side; each with a step of 1e-5, smaller ones
   *  where the function curves sharply (a norm of a nearly constant row divides by √eps), and a larger one
   *  where rounding dominates: fuzz seed 12 case 2079 (three softmax → BatchNorm over a batch of 2 after
   *  stacked recurrent layers) has central quotients −0.0232062, −0.0232048, −0.0231590 at steps 1e-5,
   *  1e-6, 1e-7 — drifting with 1/step, which is rounding — and −0.0232070 at 8e-5, where backward gives
   *  −0.0232070. */
  const agrees = (f: (delta: number) => number, analytic: number): { ok: boolean; numeric: number } => {
    const near = (numeric: number) =>
      Math.abs(numeric - analytic) <= 1e-5 * Math.max(Math.abs(numeric), Math.abs(analytic)) + atol;
    const f0 = f(0);
    let first = NaN;
    for (const step of [h, h / 10, h / 100, 8 * h]) {
      const up = f(step);
      const down = f(-step);
      const central = (up - down) / (2 * step);
      if (Number.isNaN(first)) first = central;
      if (near(central)) return { ok: true, numeric: central };
      const right = (-3 * f0 + 4 * up - f(2 * step)) / (2 * step);
      if (near(right)) return { ok: true, numeric: right };
      const left = (3 * f0 - 4 * down + f(-2 * step)) / (2 * step);
      if (near(left)) return { ok: true, numeric: left };
    }
    return { ok: false, numeric: first };
  };
  // One element of every parameter tensor, then random ones, up to 24; up to 12 input elements.
  const picks = new Set<number>();
  for (const t of m.params.slice(0, 24)) if (t.size > 0) picks.add(t.offset + r.int(0, t.size - 1));
  while (picks.size < Math.min(24, m.paramCount)) picks.add(r.int(0, m.paramCount - 1));
  for (const i of picks) {
    const keep = p[i]!;
    const result = agrees((delta) => {
      p[i] = keep + delta;
      const l = lossOf(run(p, xs));
      p[i] = keep;
      return l;
    }, grads[i]!);
    compared++;
    if (!result.ok) {
      const t = m.params.find((q) => i >= q.offset && i < q.offset + q.size);
      failures.push({
        stage: "numeric",
        message: `∂L/∂${t?.name ?? "?"}[${i - (t?.offset ?? 0)}]: backward ${grads[i]}, finite differences ${result.numeric}${t && !t.trainable ? " (frozen)" : ""}`,
      });
      break;
    }
  }
  const floatInputs = m.inputs.map((input, k) => ({ input, k })).filter(({ input }) => input.dtype !== "token");
  floatInputs.forEach(({ input, k }, j) => {
    const x = xs[k] as Float64Array;
    const g = inputGrads[j];
    if (!g || g.length !== x.length) {
      failures.push({
        stage: "numeric",
        message: `backward returned no gradient of the length of input \`${input.name}\``,
      });
      return;
    }
    for (let t = 0; t < Math.min(12, x.length); t++) {
      const i = r.int(0, x.length - 1);
      const keep = x[i]!;
      const result = agrees((delta) => {
        x[i] = keep + delta;
        const l = lossOf(run(p, xs));
        x[i] = keep;
        return l;
      }, g[i]!);
      compared++;
      if (!result.ok) {
        failures.push({
          stage: "numeric",
          message: `∂L/∂${input.name}[${i}]: backward ${g[i]}, finite differences ${result.numeric}`,
        });
        break;
      }
    }
  });
  return compared;
}

/** One SGD step with the spec's loss: a finite loss and finite parameters. */
function trainCheck(m: Module, c: FuzzCase, failures: Failure[]): void {
  if (!m.createTrainer || !m.trainStep) {
    failures.push({ stage: "train", message: "a spec with a loss built a module without createTrainer/trainStep" });
    return;
  }
  const n = 2;
  const loss = /\n {2}loss (\w+)/.exec(c.files[c.entry]!)![1]!;
  const out = m.outputs[0]!;
  const r = makeRng(c.seed ^ 0x7a11);
  let target: number[];
  if (loss === "cross_entropy") {
    const classes = out.shape[out.shape.length - 1] ?? 1;
    target = Array.from({ length: (n * out.size) / classes }, () => r.int(0, classes - 1));
  } else if (loss === "binary_cross_entropy" && !c.files[c.entry]!.includes("logits = true")) {
    // Probabilities are only in range after a sigmoid: the loss may refuse other outputs, not a defect.
    return;
  } else {
    target = Array.from({ length: n * out.size }, () => (loss === "mse" ? r.next() * 2 - 1 : r.int(0, 1)));
  }
  const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.01 });
  const value = m.trainStep(trainer, pack(makeInputs(m, n, c.seed ^ 0x1234)), target, n);
  if (!Number.isFinite(value)) failures.push({ stage: "train", message: `trainStep returned ${value}` });
  if (!trainer.params.every(Number.isFinite))
    failures.push({ stage: "train", message: "a training step made parameters non-finite" });
}
