// Weight files in generated modules: a model's state dict and a trainer's checkpoint to and from safetensors.
// Copied as it is into every generated module that can load weights (module.ts, `runtimeText`), after
// src/weights/safetensors.ts (whose functions it calls): the import below and the `export` keywords are
// dropped on the way, so the module exports none of this. It is checked here under the repository's
// settings and, as generated code, under @tsconfig/strictest (test/generated-strict.test.ts): no Node API,
// no DOM, ES2022 only.
//
// Loading checks the whole file before it writes anything: every problem (a missing, unexpected or
// mis-shaped tensor, a dtype that cannot hold weights, two names for one tensor that disagree) is listed in
// one error, and the model's arrays are untouched when there is any. The file's header is checked as
// hostile by `readSafetensors` (lengths, offsets, overlaps, the header cap): a message, never a read out
// of bounds.
import {
  isFloatDtype,
  nonFinite,
  readSafetensors,
  readTensor,
  shownName,
  tensorBytes,
  writeSafetensors,
  type Dtype,
  type SafetensorsEntry,
  type SafetensorsFile,
  type TensorToWrite,
} from "../../weights/safetensors.js";

/** A module's storage arrays. */
type Floats = Float32Array | Float64Array;

/** A tensor of a module's manifest, as weight files need it (the module's `TensorInfo`). */
interface WeightTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
  /** Whether the optimizer updates it (a checkpoint keeps the moments of those that train). */
  readonly trainable: boolean;
  readonly tiedTo?: string;
}

/** Options of `loadSafetensors`. */
export interface LoadOptions {
  /** As PyTorch's `load_state_dict(strict=True)`: every tensor of the model in the file, and nothing else
   *  (default true). Not strict, missing and unexpected tensors are reported and skipped; a tensor of the
   *  wrong shape or dtype is an error either way (as in PyTorch). */
  readonly strict?: boolean;
  /** A prefix every name of the file carries (`net.`, `model.`): stripped before matching; a name without
   *  it is unexpected. */
  readonly prefix?: string;
  /** Renames a file's tensor (after the prefix is stripped) to the model's name; `undefined` skips it. */
  readonly rename?: (name: string) => string | undefined;
}

/** What `loadSafetensors` did. */
export interface LoadReport {
  /** The model's tensors given values, in manifest order (parameters, then buffers). */
  readonly loaded: readonly string[];
  /** The model's tensors the file does not hold (left as they were; only when not strict). */
  readonly missing: readonly string[];
  /** The file's tensors the model does not have, as named in the file (only when not strict, or skipped by
   *  `rename`). */
  readonly unexpected: readonly string[];
  /** BatchNorm counters the file leaves out, set to 0 as PyTorch's BatchNorm does for a state dict with no
   *  version (a safetensors file has none). */
  readonly defaulted: readonly string[];
  /** Tensors loaded with NaN or infinite values: `name: 2 NaN, 1 infinite`. */
  readonly nonFinite: readonly string[];
}

/** Where a tensor's values go: the array and the first element. */
interface Target {
  readonly tensor: WeightTensor;
  readonly into: Floats;
  /** A BatchNorm batch counter (`num_batches_tracked`, int64 in PyTorch). */
  readonly counter: boolean;
}

/** Decoded values waiting to be written (after every tensor is checked). */
interface Pending {
  readonly target: Target;
  readonly values: Floats;
}

const counterSuffix = ".num_batches_tracked";

function weightTargets(
  params: readonly WeightTensor[],
  buffers: readonly WeightTensor[],
  p: Floats,
  b: Floats,
): Map<string, Target> {
  const targets = new Map<string, Target>();
  for (const t of params) targets.set(t.name, { tensor: t, into: p, counter: false });
  for (const t of buffers) targets.set(t.name, { tensor: t, into: b, counter: t.name.endsWith(counterSuffix) });
  return targets;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** An integer tensor's values as numbers (BatchNorm counters): exact below 2^53, as PyTorch's int64. */
function decodeIntegers(dtype: Dtype, bytes: Uint8Array, into: Floats): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < into.length; i++) {
    let v: number;
    if (dtype === "I64") v = Number(view.getBigInt64(8 * i, true));
    else if (dtype === "U64") v = Number(view.getBigUint64(8 * i, true));
    else if (dtype === "I32") v = view.getInt32(4 * i, true);
    else if (dtype === "U32") v = view.getUint32(4 * i, true);
    else if (dtype === "I16") v = view.getInt16(2 * i, true);
    else if (dtype === "U16") v = view.getUint16(2 * i, true);
    else if (dtype === "I8") v = view.getInt8(i);
    else if (dtype === "U8") v = view.getUint8(i);
    else return false;
    into[i] = v;
  }
  return true;
}

/** One entry's values in the storage type, or what is wrong with its dtype. */
function entryValues(file: SafetensorsFile, e: SafetensorsEntry, target: Target): Floats | string {
  const float32 = target.into instanceof Float32Array;
  if (target.counter && !isFloatDtype(e.dtype)) {
    const into = float32 ? new Float32Array(target.tensor.size) : new Float64Array(target.tensor.size);
    if (decodeIntegers(e.dtype, tensorBytes(file, e), into)) return into;
  }
  const read = readTensor(file, e, float32 ? "float32" : "float64");
  return read.ok ? read.value : read.problem.message;
}

/** The bytes a caller passed: a Uint8Array (or another view of bytes, or an ArrayBuffer). */
function fileBytes(bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError(`a safetensors file must be a Uint8Array or an ArrayBuffer, got ${describe(bytes)}`);
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (ArrayBuffer.isView(x)) return x.constructor.name;
  return typeof x;
}

function readFile(bytes: unknown): SafetensorsFile {
  const read = readSafetensors(fileBytes(bytes));
  if (!read.ok) throw new Error(`not a valid safetensors file: ${read.problem.message}`);
  return read.value;
}

function checkLoadOptions(options: unknown): {
  strict: boolean;
  prefix: string;
  rename: ((name: string) => string | undefined) | undefined;
} {
  if (typeof options !== "object" || options === null)
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  const o = options as { strict?: unknown; prefix?: unknown; rename?: unknown };
  if (o.strict !== undefined && typeof o.strict !== "boolean")
    throw new TypeError(`options.strict must be a boolean, got ${describe(o.strict)}`);
  if (o.prefix !== undefined && typeof o.prefix !== "string")
    throw new TypeError(`options.prefix must be a string, got ${describe(o.prefix)}`);
  if (o.rename !== undefined && typeof o.rename !== "function")
    throw new TypeError(`options.rename must be a function, got ${describe(o.rename)}`);
  return {
    strict: o.strict ?? true,
    prefix: o.prefix ?? "",
    rename: o.rename as ((name: string) => string | undefined) | undefined,
  };
}

/** "found `net.fc1.weight`: use prefix `net.`" — the prefix that would turn most unexpected names into
 *  missing ones. */
function prefixHint(missing: readonly string[], unexpected: readonly string[], given: string): string | undefined {
  const counts = new Map<string, { count: number; example: string }>();
  const wanted = new Set(missing);
  for (const u of unexpected) {
    for (let at = u.indexOf("."); at >= 0; at = u.indexOf(".", at + 1)) {
      if (!wanted.has(u.slice(at + 1))) continue;
      const p = given + u.slice(0, at + 1);
      const c = counts.get(p);
      counts.set(p, { count: (c?.count ?? 0) + 1, example: given + u });
      break;
    }
  }
  let best: [string, { count: number; example: string }] | undefined;
  for (const entry of counts) if (best === undefined || entry[1].count > best[1].count) best = entry;
  if (best === undefined) return undefined;
  return `found ${shownName(best[1].example)}: use prefix ${shownName(best[0])}`;
}

/**
 * Loads a state dict from safetensors bytes into `p` (parameters) and `b` (buffers), after checking all of
 * it: throws an Error listing every problem and changes nothing, or writes every value and returns what it
 * did. Values convert to the storage type (F16 and BF16 exactly, F64 to float32 rounding to nearest).
 */
export function loadStateDict(
  bytes: unknown,
  options: unknown,
  params: readonly WeightTensor[],
  buffers: readonly WeightTensor[],
  p: Floats,
  b: Floats,
): LoadReport {
  const o = checkLoadOptions(options);
  const file = readFile(bytes);
  const targets = weightTargets(params, buffers, p, b);
  const problems: string[] = [];
  const unexpected: string[] = [];
  const pending: Pending[] = [];
  const given = new Map<string, string>();
  const bad: string[] = [];
  for (const e of file.entries) {
    const shown = `tensor ${shownName(e.name)}`;
    let name: string | undefined = e.name;
    if (!name.startsWith(o.prefix)) {
      unexpected.push(e.name);
      continue;
    }
    name = name.slice(o.prefix.length);
    if (o.rename !== undefined) {
      const renamed: unknown = o.rename(name);
      if (renamed !== undefined && typeof renamed !== "string")
        throw new TypeError(
          `options.rename(${JSON.stringify(name)}) must return a string or undefined, got ${describe(renamed)}`,
        );
      if (renamed === undefined) {
        unexpected.push(e.name);
        continue;
      }
      name = renamed;
    }
    const target = targets.get(name);
    if (target === undefined) {
      unexpected.push(e.name);
      continue;
    }
    const earlier = given.get(name);
    if (earlier !== undefined) {
      problems.push(`${shown} and ${shownName(earlier)} are both loaded as ${shownName(name)}`);
      continue;
    }
    given.set(name, e.name);
    const t = target.tensor;
    if (!sameShape(e.shape, t.shape)) {
      const transposed =
        e.shape.length === 2 && t.shape.length === 2 && e.shape[0] === t.shape[1] && e.shape[1] === t.shape[0];
      problems.push(
        `${shown} has shape ${shapeText(e.shape)}, the model's ${shownName(name)} ${shapeText(t.shape)}${transposed ? " (transposed)" : ""}`,
      );
      continue;
    }
    const values = entryValues(file, e, target);
    if (typeof values === "string") {
      problems.push(values);
      continue;
    }
    if (isFloatDtype(e.dtype)) {
      const count = nonFinite(e.dtype, tensorBytes(file, e));
      if (count.nan + count.infinite > 0) bad.push(`${name}: ${count.nan} NaN, ${count.infinite} infinite`);
    }
    pending.push({ target, values });
  }
  // Tied tensors: either name fills the shared elements; both must then agree.
  const byName = new Map(pending.map((x) => [x.target.tensor.name, x]));
  for (const t of params) {
    if (t.tiedTo === undefined) continue;
    const mine = byName.get(t.name);
    const theirs = byName.get(t.tiedTo);
    if (mine === undefined || theirs === undefined) continue;
    for (let i = 0; i < t.size; i++) {
      const x = mine.values[i]!;
      const y = theirs.values[i]!;
      if (x !== y && !(x !== x && y !== y)) {
        problems.push(
          `${shownName(t.name)} is tied to ${shownName(t.tiedTo)}, but the file's values differ at element ${i} (${x} and ${y})`,
        );
        break;
      }
    }
  }
  const missing: string[] = [];
  const defaulted: string[] = [];
  const has = (name: string) => byName.has(name);
  for (const t of [...params, ...buffers]) {
    if (has(t.name)) continue;
    if (t.tiedTo !== undefined && has(t.tiedTo)) continue;
    if (params.some((x) => x.tiedTo === t.name && has(x.name))) continue;
    if (t.tiedTo !== undefined) continue; // reported once, under the tensor it is tied to
    if (t.name.endsWith(counterSuffix)) defaulted.push(t.name);
    else missing.push(t.name);
  }
  if (o.strict) {
    if (missing.length > 0) problems.push(`missing from the file: ${missing.map(shownName).join(", ")}`);
    if (unexpected.length > 0) problems.push(`not in the model: ${unexpected.map(shownName).join(", ")}`);
  }
  if (problems.length > 0) {
    const hint = missing.length > 0 ? prefixHint(missing, unexpected, o.prefix) : undefined;
    throw new Error(
      `cannot load the safetensors file (nothing was changed):\n${problems.map((x) => `  - ${x}`).join("\n")}${hint ? `\n  hint: ${hint}` : ""}`,
    );
  }
  for (const { target, values } of pending) target.into.set(values, target.tensor.offset);
  const order = [...params, ...buffers].map((t) => t.name);
  bad.sort((a, b) => order.indexOf(a.slice(0, a.lastIndexOf(":"))) - order.indexOf(b.slice(0, b.lastIndexOf(":"))));
  for (const name of defaulted) {
    const t = targets.get(name)!;
    t.into[t.tensor.offset] = 0;
  }
  const loaded = [...params, ...buffers].filter((t) => !missing.includes(t.name)).map((t) => t.name);
  return { loaded, missing, unexpected, defaulted, nonFinite: bad };
}

/** The state dict's tensors to write: every parameter and buffer by its PyTorch name, a tied tensor under
 *  both of its names (as `state_dict()` lists it: `load_state_dict(strict=True)` wants both), BatchNorm
 *  counters as int64. */
function stateTensors(
  params: readonly WeightTensor[],
  buffers: readonly WeightTensor[],
  p: Floats,
  b: Floats,
  prefix: string,
): TensorToWrite[] {
  const out: TensorToWrite[] = [];
  for (const [list, from] of [
    [params, p],
    [buffers, b],
  ] as const) {
    for (const t of list) {
      const name = prefix + t.name;
      if (t.name.endsWith(counterSuffix) && list === buffers) {
        out.push({ name, dtype: "I64", shape: t.shape, data: BigInt64Array.of(BigInt(Math.round(from[t.offset]!))) });
      } else out.push(floatTensor(name, t.shape, from.subarray(t.offset, t.offset + t.size)));
    }
  }
  return out;
}

function floatTensor(name: string, shape: readonly number[], data: Floats): TensorToWrite {
  // A copy: the writer reads it after this returns, and a view of a caller's array could change.
  return data instanceof Float32Array
    ? { name, dtype: "F32", shape, data: data.slice() }
    : { name, dtype: "F64", shape, data: data.slice() };
}

function written(tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>>): Uint8Array {
  const out = writeSafetensors(tensors, metadata);
  if (!out.ok) throw new Error(`cannot write the safetensors file: ${out.problem.message}`);
  return out.value;
}

/** The state dict as a safetensors file (`__metadata__` `{"format": "pt"}`, as PyTorch's `save_file` of
 *  transformers writes it). */
export function saveStateDict(
  params: readonly WeightTensor[],
  buffers: readonly WeightTensor[],
  p: Floats,
  b: Floats,
): Uint8Array {
  return written(stateTensors(params, buffers, p, b, ""), { format: "pt" });
}

/** A trainer's whole state: what `saveCheckpoint` writes and `loadCheckpoint` reads. */
interface TrainerState {
  readonly params: Floats;
  readonly buffers: Floats;
  readonly m: Floats;
  readonly v: Floats;
  readonly optimizer: string;
  steps: number;
  lr: number;
  random: number;
}

/** The optimizer's moments of each tensor that trains, named `optimizer.m.<name>` / `optimizer.v.<name>`. */
function momentTensors(params: readonly WeightTensor[], s: TrainerState) {
  const out: { name: string; tensor: WeightTensor; into: Floats }[] = [];
  params.forEach((t) => {
    if (!t.trainable || t.tiedTo !== undefined) return;
    out.push({ name: `optimizer.m.${t.name}`, tensor: t, into: s.m });
    if (s.v.length > 0) out.push({ name: `optimizer.v.${t.name}`, tensor: t, into: s.v });
  });
  return out;
}

/** A checkpoint: the state dict, the optimizer's moments and, in `__metadata__`, the step count, the
 *  optimizer, the learning rate and the random generator's state — all a resumed run needs to take the
 *  same steps, bit for bit. */
export function saveTrainerState(
  params: readonly WeightTensor[],
  buffers: readonly WeightTensor[],
  s: TrainerState,
): Uint8Array {
  const tensors = stateTensors(params, buffers, s.params, s.buffers, "");
  for (const x of momentTensors(params, s))
    tensors.push(
      floatTensor(x.name, x.tensor.shape, x.into.subarray(x.tensor.offset, x.tensor.offset + x.tensor.size)),
    );
  return written(tensors, {
    format: "nnc-checkpoint",
    optimizer: s.optimizer,
    steps: String(s.steps),
    lr: String(s.lr),
    random: String(s.random),
  });
}

/** Reads a checkpoint written by `saveTrainerState` for the same model and optimizer: everything is checked
 *  (every tensor present, of its shape, of the storage dtype so that values are exact; the metadata) before
 *  anything is written. */
export function loadTrainerState(
  bytes: unknown,
  params: readonly WeightTensor[],
  buffers: readonly WeightTensor[],
  s: TrainerState,
): void {
  const file = readFile(bytes);
  const problems: string[] = [];
  const meta = file.metadata ?? {};
  if (meta["format"] !== "nnc-checkpoint")
    throw new Error(
      "not a trainer checkpoint: its `__metadata__` has no `format` `nnc-checkpoint` (a state dict loads with loadSafetensors)",
    );
  if (meta["optimizer"] !== s.optimizer)
    problems.push(
      `the checkpoint is of optimizer ${JSON.stringify(meta["optimizer"])}, this trainer's is ${JSON.stringify(s.optimizer)}`,
    );
  const whole = (key: string, max: number): number => {
    const text = meta[key] ?? "";
    const n = /^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : NaN;
    if (!(n <= max))
      problems.push(`\`__metadata__\` ${key} is ${JSON.stringify(meta[key])}, expected a whole number up to ${max}`);
    return n;
  };
  const steps = whole("steps", Number.MAX_SAFE_INTEGER);
  const random = whole("random", 2 ** 32 - 1);
  const lr = Number(meta["lr"]);
  if (!(Number.isFinite(lr) && lr >= 0))
    problems.push(`\`__metadata__\` lr is ${JSON.stringify(meta["lr"])}, expected a number ≥ 0`);
  const dtype = s.params instanceof Float32Array ? "F32" : "F64";
  const wanted = new Map<string, { tensor: WeightTensor; into: Floats; counter: boolean }>();
  for (const t of params) if (t.tiedTo === undefined) wanted.set(t.name, { tensor: t, into: s.params, counter: false });
  for (const t of buffers) wanted.set(t.name, { tensor: t, into: s.buffers, counter: t.name.endsWith(counterSuffix) });
  for (const x of momentTensors(params, s)) wanted.set(x.name, { tensor: x.tensor, into: x.into, counter: false });
  const tied = new Set(params.filter((t) => t.tiedTo !== undefined).map((t) => t.name));
  const pending: Pending[] = [];
  const seen = new Set<string>();
  for (const e of file.entries) {
    const w = wanted.get(e.name);
    if (w === undefined) {
      if (!tied.has(e.name)) problems.push(`not in this trainer: ${shownName(e.name)}`);
      continue;
    }
    seen.add(e.name);
    if (!sameShape(e.shape, w.tensor.shape)) {
      problems.push(`${shownName(e.name)} has shape ${shapeText(e.shape)}, expected ${shapeText(w.tensor.shape)}`);
      continue;
    }
    if (e.dtype !== (w.counter ? "I64" : dtype)) {
      problems.push(
        `${shownName(e.name)} is ${e.dtype}, expected ${w.counter ? "I64" : dtype} (a checkpoint is exact)`,
      );
      continue;
    }
    const target = { tensor: w.tensor, into: w.into, counter: w.counter };
    const values = entryValues(file, e, target);
    if (typeof values === "string") problems.push(values);
    else pending.push({ target, values });
  }
  const absent = [...wanted.keys()].filter((name) => !seen.has(name));
  if (absent.length > 0) problems.push(`missing from the checkpoint: ${absent.map(shownName).join(", ")}`);
  if (problems.length > 0)
    throw new Error(`cannot load the checkpoint (nothing was changed):\n${problems.map((x) => `  - ${x}`).join("\n")}`);
  for (const { target, values } of pending) target.into.set(values, target.tensor.offset);
  s.steps = steps;
  s.lr = lr;
  s.random = random;
}

/** The sum of the squares of the trainable ranges' elements in four partial sums: element from + 4j + k
 *  of a range into sum k, its last (to − from) mod 4 elements into sum 0, combined as (s₀ + s₂) + (s₁ + s₃).
 *  The WebAssembly target's kernel (src/emit/wasm/optimizer.ts, sumSquares) adds in exactly this order, so
 *  both targets give the same norm bit for bit; four sums also run ~1.2× faster in V8 than one. */
export function sumSquares(g: Floats, ranges: readonly (readonly [number, number])[]): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (const [from, to] of ranges) {
    let i = from;
    for (; i + 4 <= to; i += 4) {
      s0 += g[i]! * g[i]!;
      s1 += g[i + 1]! * g[i + 1]!;
      s2 += g[i + 2]! * g[i + 2]!;
      s3 += g[i + 3]! * g[i + 3]!;
    }
    for (; i < to; i++) s0 += g[i]! * g[i]!;
  }
  return s0 + s2 + (s1 + s3);
}

/** Scales the gradients of the trainable ranges so that their global L2 norm is at most `maxNorm`, as
 *  `torch.nn.utils.clip_grad_norm_` (coefficient maxNorm / (norm + 1e-6), clamped at 1); returns the norm. */
export function clipGradients(g: Floats, ranges: readonly (readonly [number, number])[], maxNorm: number): number {
  const norm = Math.sqrt(sumSquares(g, ranges));
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient < 1) for (const [from, to] of ranges) for (let i = from; i < to; i++) g[i] = g[i]! * coefficient;
  return norm;
}
