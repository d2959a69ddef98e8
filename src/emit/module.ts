// Assembles one generated module (TypeScript source) from a plan: the parameter manifest, seeded PyTorch
// initialization, the workspace, forward and backward passes (one kernel per op, from kernels/), the three
// losses and a training step with SGD or Adam/AdamW. Built with ts-morph; formatted by compile.ts.
import { printStructure, StructureKind, VariableDeclarationKind, type StatementStructures } from "ts-morph";
import type { IrOp } from "../ir/ir.js";
import { base64DecoderSource } from "./base64.js";
import { activationHelpers, helpersUsed } from "./kernels/activation.js";
import { denseInOutSource, denseTiledSource } from "./kernels/dense.js";
import { kernels } from "./kernels/index.js";
import { ArgReader, lit, type EmitCtx, type EmitOptions } from "./kernel.js";
import { makeTemplate, templateContext, type ArrayBinding, type Template } from "./shared.js";
import { lengthSupport, type Plan, type PlannedTensor } from "./plan.js";
import { runtimeText } from "./runtime-text.js";
import { MAX_MEMORY_BYTES, WasmDenseTable, hasMoments, wasmTargetSource } from "./wasm/target.js";
import type { GradientFunction, OutputGradientFunction, UnaryFunction } from "./wasm/math.js";
import type { ConvShape } from "./wasm/conv.js";

export interface ModuleInfo {
  /** The spec file, as named in the `@generated` header. */
  readonly source: string;
  /** An inference build with these parameters baked in (`--bake-weights`): paramCount values. */
  readonly baked?: Float64Array;
  /** Its buffers (BatchNorm running statistics), bufferCount values: what `createBuffers` then returns. */
  readonly bakedBuffers?: Float64Array;
  readonly loss?: { readonly name: string; readonly logits: boolean };
  readonly version: string;
}

const q = (s: string) => JSON.stringify(s);

/** Gradient arrays whose first writer in the backward pass assigns them (so they are not zeroed first),
 *  and what deciding that needs: the last op reading each buffer, the tensors sharing each offset. */
interface Claims {
  readonly buffers: Set<number>;
  readonly params: [number, number][];
  readonly lastReader: ReadonlyMap<number, number>;
  /** Per offset: how many tensors live there (a tie makes two) and the first one's size. */
  readonly owners: ReadonlyMap<number, { readonly count: number; readonly size: number }>;
}

/** The scratch arrays kernels ask for, named and sized per sample. */
interface Scratch {
  readonly name: string;
  readonly perSample: number;
  /** A workspace of a fixed size, not scaled by the batch (reused sample after sample). */
  readonly fixed?: boolean;
}

/** One generated module as TypeScript source, printed as it comes (readable, not run through prettier). */
export function emitModule(plan: Plan, info: ModuleInfo, options: EmitOptions): string {
  return joinParts(emitModuleParts(plan, info, options));
}

/** A piece of a module's source; `fixed` when it depends only on the options and the helpers a module uses
 *  (the runtime: checks, the seeded generator, math helpers, the shared matrix kernels), not on the model.
 *  `inner`: a statement of `createEngine`'s body (formatted as one, indented by prettier); `raw`: a line
 *  that is not a statement (the engine's first line), used as it is. */
export interface ModulePart {
  readonly text: string;
  readonly fixed: boolean;
  readonly inner?: boolean;
  readonly raw?: "open" | "close";
}

/** The pieces' texts as one source: a blank line between two statements, none after the line that opens
 *  the engine's body or before the line that closes it (prettier keeps no blank line there). */
export function joinParts(parts: readonly { readonly text: string; readonly raw?: "open" | "close" }[]): string {
  let out = "";
  parts.forEach((part, k) => {
    if (k > 0 && parts[k - 1]!.raw !== "open" && part.raw !== "close") out += "\n";
    out += part.text;
  });
  return out;
}

/** The same module in pieces, for formatting piece by piece: a fixed piece need be formatted only once. */
export function emitModuleParts(plan: Plan, info: ModuleInfo, options: EmitOptions): ModulePart[] {
  const { statements, fixed, inner, raw } = moduleStatements(plan, info, options);
  // Every statement is a piece of its own, since prettier takes longer on one large text than on its pieces
  // (three times as long on the MNIST module).
  return statements.map((statement, k) => {
    const text: unknown = statement; // `add` puts source text among the structures
    const printed =
      typeof text === "string"
        ? text
        : printStructure({ kind: StructureKind.SourceFile, statements: [statement] }, { indentNumberOfSpaces: 2 });
    return {
      text: raw.has(k) ? printed : `${printed.trim()}\n`,
      fixed: fixed.has(k),
      ...(inner.has(k) ? { inner: true } : {}),
      ...(raw.has(k) ? { raw: raw.get(k)! } : {}),
    };
  });
}

function moduleStatements(
  plan: Plan,
  info: ModuleInfo,
  options: EmitOptions,
): { statements: StatementStructures[]; fixed: Set<number>; inner: Set<number>; raw: Map<number, "open" | "close"> } {
  const F = options.dtype === "float64" ? "Float64Array" : "Float32Array";
  const scratches: Scratch[] = [];
  const lastReader = new Map<number, number>();
  plan.ops.forEach((op, index) => op.inputs.forEach((id) => lastReader.set(plan.values[id]!.buffer, index)));
  const owners = new Map<number, { count: number; size: number }>();
  for (const t of plan.params)
    owners.set(t.offset, { count: (owners.get(t.offset)?.count ?? 0) + 1, size: owners.get(t.offset)?.size ?? t.size });
  // An instance applied again (`share`) has one writer of its gradients per use: none assigns them.
  for (const op of plan.ops) {
    if (op.reuses === undefined) continue;
    for (const t of op.tensors) {
      const offset = t.role === "buffer" ? undefined : plan.offsets.get(t.name);
      const known = offset === undefined ? undefined : owners.get(offset);
      if (known) known.count++;
    }
  }
  const claims: Claims = { buffers: new Set(), params: [], lastReader, owners };
  const forwardParts: string[] = [];
  const backwardParts: string[] = [];
  /** The array type of an input: token ids are Int32Array. */
  const arrayOf = (v: { dtype: string }) => (v.dtype === "token" ? "Int32Array" : F);
  const aName = (id: number) => `act${plan.values[id]!.buffer}`;
  const gName = (id: number) => `grad${plan.values[id]!.buffer}`;
  // The WebAssembly target (wasm/target.ts): dense layers ask the table for their kernels' index. Not for an
  // inference build (its parameters are constants of the module), nor when parameters and gradients would
  // not fit the memory one parameter array gets.
  const elt = options.dtype === "float64" ? 8 : 4;
  const wasmTable =
    (options.target ?? "ts") !== "ts" && !info.baked && 4 * plan.paramCount * elt <= MAX_MEMORY_BYTES
      ? new WasmDenseTable(options.dtype, plan.paramCount)
      : undefined;

  // Each op's forward and backward code is a function of its own: V8 optimizes functions separately and
  // does not optimize one whose bytecode passes 60 KB (V8 flag `--max-optimized-bytecode-size`, default
  // 60 * KB = 61,440 bytes in src/flags/flag-definitions.h; `node --v8-options` shows it), so unrolled code
  // stays small. Checked on these machines (Node 20, `--print-bytecode --trace-opt`): a fully unrolled
  // dense forward is 25.6 KB of bytecode at 32×32 and 57 KB at 48×48, both optimized, and 101 KB at 64×64,
  // never optimized; the width sweep of bench/workloads.mjs (bench/latest.txt) times the cliff: unrolled
  // 64×64 and 128×128 layers run 35–70× slower than the tiled kernel.
  // Copies of a layer whose code differs only in arrays and offsets share one (shared.ts).
  const rendered = plan.ops.map((op, index) => {
    const kernel = kernels[op.kind]!;
    const base = context(plan, op, index, options, scratches, aName, gName, info.baked, claims, wasmTable);
    const answers: boolean[] = [];
    const record = (answer: boolean) => (answers.push(answer), answer);
    const ctx: EmitCtx = {
      ...base,
      claimInputGrad: (j) => record(base.claimInputGrad(j)),
      claimParamGrads: (t) => record(base.claimParamGrads(t)),
    };
    const fwd = kernel.forward(ctx).trim();
    // An inference build (baked weights) has no backward pass.
    const bwd = info.baked ? "" : kernel.backward(ctx).trim();
    forwardParts.push(fwd);
    backwardParts.push(bwd);
    return {
      op,
      index,
      kernel,
      base,
      answers,
      fwd,
      bwd,
      forward: undefined as Template | undefined,
      backward: undefined as Template | undefined,
    };
  });
  // Templates only where another op has the same kind and shapes (a cheap first sort) and no weights are baked.
  /** Each op's scratch arrays (a lookup per op, not a search of them all: linear in the ops). */
  const scratchesOf = new Map<number, Scratch[]>();
  for (const x of scratches) {
    const index = Number(/^(?:scratch|work)(\d+)_/.exec(x.name)![1]);
    scratchesOf.set(index, [...(scratchesOf.get(index) ?? []), x]);
  }
  const bySignature = new Map<string, number>();
  const signature = (op: IrOp) =>
    JSON.stringify([
      op.kind,
      op.inputs.map((id) => plan.values[id]!.shape),
      op.outputs.map((id) => plan.values[id]!.shape),
    ]);
  for (const r of rendered) bySignature.set(signature(r.op), (bySignature.get(signature(r.op)) ?? 0) + 1);
  const inputTypeOf = new Map(plan.inputs.map((v) => [`act${v.buffer}`, arrayOf(v)]));
  for (const r of rendered) {
    if (info.baked || options.share === false || bySignature.get(signature(r.op))! < 2) continue;
    const renders = [false, true].map((shifted) => {
      const t = templateContext(r.base, r.answers, shifted);
      return { fwd: r.kernel.forward(t.ctx).trim(), bwd: r.kernel.backward(t.ctx).trim(), requests: t.requests };
    });
    const [plain, shifted] = renders as [(typeof renders)[0], (typeof renders)[0]];
    const one = (list: readonly string[], name: string) =>
      list.map((actual, j) => ({ actual, param: list.length === 1 ? name : `${name}${j}` }));
    const arrays: ArrayBinding[] = [
      ...one(r.base.x, "input"),
      ...one(r.base.y, "output"),
      ...one(r.base.gx, "inputGrad"),
      ...one(r.base.gy, "outputGrad"),
      ...(scratchesOf.get(r.index) ?? []).map((x) => ({
        actual: x.name,
        param: x.name.replace(/^(scratch|work)\d+_/, ""),
      })),
    ].map((x) => ({ ...x, type: inputTypeOf.get(x.actual) ?? F }));
    r.forward = makeTemplate(plain.fwd, shifted.fwd, plain.requests, arrays, r.op.name);
    r.backward = makeTemplate(plain.bwd, shifted.bwd, plain.requests, arrays, r.op.name);
  }
  /** How many ops share each template (counted once: asking per op made the assembly quadratic). */
  const sharing = { forward: new Map<string, number>(), backward: new Map<string, number>() };
  for (const r of rendered) {
    for (const list of ["forward", "backward"] as const) {
      const key = r[list]?.key;
      if (key !== undefined) sharing[list].set(key, (sharing[list].get(key) ?? 0) + 1);
    }
  }
  const sharers = (key: string | undefined, list: "forward" | "backward") =>
    key === undefined ? 0 : (sharing[list].get(key) ?? 0);

  const opFunctions: string[] = [];
  const wasm = wasmTable !== undefined && wasmTable.used;
  const forwardCalls: string[] = [];
  const backwardCalls: string[] = [];
  const sharedNames = new Map<string, string>();
  const sharedCount = new Map<string, number>();
  const types = { p: F, gp: F, n: "number", training: "boolean" };
  /** A function's parameter list and a call's arguments: `p`, `gp`, `n`, `training` when the body reads them
   *  (`noUnusedParameters`), then the template's own. */
  const parameters = (body: string, extra: readonly { name: string; type: string; arg: string }[]) => {
    const fixed = (["p", "gp", "n", "training"] as const).filter((v) => codeUses(body, v));
    return {
      list: [...fixed.map((v) => `${v}: ${types[v]}`), ...extra.map((x) => `${x.name}: ${x.type}`)].join(", "),
      args: [...fixed, ...extra.map((x) => x.arg)].join(", "),
    };
  };
  const what = (op: IrOp) => `${op.name ? `${op.name} (${op.kind})` : op.kind}`;
  for (const r of rendered) {
    for (const direction of ["forward", "backward"] as const) {
      const body = direction === "forward" ? r.fwd : r.bwd;
      if (body === "") continue;
      const Direction = direction === "forward" ? "Forward" : "Backward";
      const template = r[direction];
      let call: string;
      if (template && sharers(template.key, direction) > 1) {
        let name = sharedNames.get(`${direction}\n${template.key}`);
        if (name === undefined) {
          const stem = `${r.op.kind.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}${Direction}`;
          const k = (sharedCount.get(stem) ?? 0) + 1;
          sharedCount.set(stem, k);
          name = `${stem}${k}`;
          sharedNames.set(`${direction}\n${template.key}`, name);
          const group = rendered.filter((x) => x[direction]?.key === template.key);
          const listed = group
            .slice(0, 6)
            .map((x) => `${x.index}`)
            .join(", ");
          const doc = `${Direction} of the ${group.length} ops ${listed}${group.length > 6 ? ", …" : ""} (${r.op.kind}, one shape): each call passes its arrays and offsets.`;
          opFunctions.push(
            `/** ${doc} */\nfunction ${name}(${parameters(template.body, template.params).list}): void {\n${template.body}\n}`,
          );
        }
        call = `${name}(${parameters(template.body, template.params).args}); // op ${r.index}: ${what(r.op)}`;
      } else {
        const own = `${direction}${r.index}`;
        const ps = parameters(body, []);
        opFunctions.push(
          `/** ${Direction} of op ${r.index}: ${what(r.op)}. */\nfunction ${own}(${ps.list}): void {\n${body}\n}`,
        );
        call = `${own}(${ps.args});`;
      }
      if (direction === "forward") forwardCalls.push(call);
      else backwardCalls.push(call);
    }
  }
  backwardCalls.reverse(); // last op first

  const buffersUsed = [...new Set(plan.values.map((v) => v.buffer))].sort((a, b) => a - b);
  const inputBuffers = plan.inputs.map((v) => v.buffer);
  const outputBuffers = plan.outputs.map((v) => v.buffer);
  const sizeOf = (buffer: number) => plan.values[buffer]!.size;
  const activations = buffersUsed.filter((b) => !inputBuffers.includes(b));
  /** Gradient arrays, one per buffer (none in an inference build). */
  const gradBuffers = info.baked ? [] : buffersUsed;
  const many = (count: number, one: string, list: string) => (count === 1 ? one : list);
  const inputType = many(
    plan.inputs.length,
    arrayOf(plan.inputs[0]!),
    `readonly [${plan.inputs.map(arrayOf).join(", ")}]`,
  );
  const outputType = many(plan.outputs.length, F, `readonly [${plan.outputs.map(() => F).join(", ")}]`);
  const floatInputs = plan.inputs.filter((v) => v.dtype !== "token");
  const inputGradType =
    floatInputs.length === 0
      ? "void"
      : many(floatInputs.length, F, `readonly [${floatInputs.map(() => F).join(", ")}]`);
  // A symbolic sequence length (`token[seq <= 16]`): buffers are laid out at the maximum; a call may give a
  // shorter length when `lengthSupport` allows (then inputs are padded, padded keys masked in attention,
  // and outputs cut back).
  const symbolicInputs = plan.inputs.filter((v) => v.symbolicLength);
  const seq = symbolicInputs.length > 0 ? symbolicInputs[0]!.shape[0]! : undefined;
  const support = seq !== undefined ? lengthSupport(plan) : undefined;
  const variable = support?.ok === true;
  const rowOf = (v: { size: number }) => (seq === undefined ? 0 : v.size / seq);
  const cutOutputs = plan.outputs.map((v) => variable && v.symbolicLength === true);
  const helperCode = helpersUsed([...forwardParts, ...backwardParts].join("\n")).map((h) => helperSource(h));

  // The whole module is one ts-morph SourceFileStructure, printed once: manipulating a source file
  // statement by statement re-parses it each time, which costs seconds on a 500 KB module.
  // Three places: the module's top (manifest, checks, losses, types), the engine (`createEngine`'s body:
  // everything with state — workspaces, the random stream — and the functions that use it), and the shared
  // math after it (pure functions, and scratch arrays that hold nothing from one call to the next).
  const statements: StatementStructures[] = [];
  const zones: Zone[] = [];
  let zone: Zone = "top";
  const add = (s: string | StatementStructures) => (zones.push(zone), statements.push(s as StatementStructures));
  const fixed = new Set<number>();
  const addFixed = (s: string) => fixed.add(add(s) - 1);
  add(header(plan, info, options));
  add({
    kind: StructureKind.Interface,
    name: "TensorInfo",
    isExported: true,
    docs: ["A parameter or buffer tensor: its PyTorch `state_dict` name, shape, role and place in the flat array."],
    properties: [
      { name: "name", type: "string", isReadonly: true },
      { name: "shape", type: "readonly number[]", isReadonly: true },
      {
        name: "role",
        type: `"matrix" | "embedding" | "normScale" | "bias" | "normShift" | "other" | "buffer"`,
        isReadonly: true,
      },
      { name: "offset", type: "number", isReadonly: true, docs: ["First element in the flat array."] },
      { name: "size", type: "number", isReadonly: true },
      { name: "trainable", type: "boolean", isReadonly: true },
      {
        name: "tiedTo",
        type: "string",
        hasQuestionToken: true,
        isReadonly: true,
        docs: ["A tied tensor shares this tensor's elements (same offset)."],
      },
    ],
  });
  const constant = (name: string, value: string, doc: string, type?: string) =>
    add({
      kind: StructureKind.VariableStatement,
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      docs: [doc],
      declarations: [{ name, initializer: value, ...(type ? { type } : {}) }],
    });
  constant("modelName", q(plan.model), "The model's name in the spec.");
  constant(
    "inputShape",
    `[${plan.input.shape.join(", ")}]`,
    "Shape of one sample of the first input (the batch axis is not included).",
    "readonly number[]",
  );
  constant("inputSize", String(plan.input.size), "Elements of one input sample.");
  constant("outputShape", `[${plan.output.shape.join(", ")}]`, "Shape of one output sample.", "readonly number[]");
  constant("outputSize", String(plan.output.size), "Elements of one output sample.");
  constant(
    "inputs",
    `[${plan.inputs.map((v) => `{ name: ${q(v.name)}, shape: [${v.shape.join(", ")}], size: ${v.size}, dtype: ${q(v.dtype === "token" ? "token" : options.dtype)}${v.vocab !== undefined ? `, vocab: ${v.vocab}` : ""} }`).join(", ")}]`,
    "Every input, in order: per-sample shape and size; token inputs are Int32Array ids below `vocab`.",
    "readonly { readonly name: string; readonly shape: readonly number[]; readonly size: number; readonly dtype: string; readonly vocab?: number }[]",
  );
  constant(
    "outputs",
    `[${plan.outputs.map((v) => `{ shape: [${v.shape.join(", ")}], size: ${v.size} }`).join(", ")}]`,
    "Every output, in order (the losses and training use the first).",
    "readonly { readonly shape: readonly number[]; readonly size: number }[]",
  );
  if (seq !== undefined) {
    constant("maxLength", String(seq), "The declared maximum sequence length (the input's symbolic first axis).");
    constant(
      "variableLength",
      String(variable),
      variable
        ? "Whether `forward` accepts `{ length }` below maxLength: yes — a shorter call is exactly the full computation on the first positions (padding masked)."
        : `Whether \`forward\` accepts \`{ length }\` below maxLength: no — ${support?.ok === false ? support.why : ""}; give the full length.`,
    );
  }
  constant("paramCount", String(plan.paramCount), "Elements of the flat parameter array (tied tensors stored once).");
  constant(
    "bufferCount",
    String(plan.bufferCount),
    "Elements of the flat buffer array (BatchNorm running statistics).",
  );
  constant(
    "params",
    `[\n${plan.params.map(tensorLiteral).join(",\n")}\n]`,
    "Every parameter tensor, in `state_dict` order.",
    "readonly TensorInfo[]",
  );
  constant(
    "buffers",
    `[\n${plan.buffers.map(tensorLiteral).join(",\n")}\n]`,
    "Every buffer tensor (not parameters).",
    "readonly TensorInfo[]",
  );

  // What the rest of the module reads decides which runtime helpers and state it gets (`noUnusedLocals`).
  const initStatements = plan.params.filter((t) => !t.tiedTo).map(initStatement);
  const backwardStatements = info.baked
    ? []
    : backwardBody(plan, claims, buffersUsed, cutOutputs, seq, rowOf, backwardCalls);
  if (wasm) {
    // The SIMD kernels write gradients into their own memory: other \`grads\` get them added at the end, and
    // the memory's own gradients get back what they held.
    backwardStatements.splice(
      backwardStatements.indexOf("const gp = grads;"),
      0,
      "arena = arenaOf(p);",
      "const kept = arena !== undefined && !ownGrads(arena, grads) ? stageGrads(arena) : undefined;",
    );
    const last = backwardStatements.length - 1;
    const end = backwardStatements[last]!.startsWith("return ") ? last : last + 1;
    backwardStatements.splice(end, 0, "if (kept !== undefined) unstageGrads(arena!, kept, grads);");
  }
  const opCode = opFunctions.join("\n");
  const uses = {
    gaussian: initStatements.some((s) => s.includes("gaussian()")),
    random: initStatements.some((s) => /\b(random|gaussian)\(\)/.test(s)) || codeUses(opCode, "random"),
    zero: backwardStatements.some((s) => s.startsWith("zero(")),
    copy: backwardStatements.some((s) => s.startsWith("copy(")),
    inputGradWanted: codeUses(opCode, "inputGradWanted"),
    seqLength: codeUses(opCode, "seqLength") || backwardStatements.some((s) => codeUses(s, "seqLength")),
    outputList: plan.outputs.length > 1 && !cutOutputs.some((c) => c),
    /** Float arrays are checked (inputs, parameters, buffers, gradients, losses): all but a baked token model. */
    checkFloats: !info.baked || plan.bufferCount > 0 || plan.inputs.some((v) => v.dtype !== "token"),
    /** Arrays are compared for shared memory (parameters, gradients, buffers against parameters, losses). */
    sharesMemory: !info.baked,
    /** Backward reads the mode of the last forward call. */
    lastTraining: backwardCalls.some((c) => codeUses(c, "training")),
  };
  addFixed(runtimeSource(F, uses));
  /** The random stream is part of a trainer's checkpoint (dropout masks): every trainable module has one. */
  const rng = uses.random || !info.baked;
  zone = "engine";
  addFixed(randomSource(uses, rng));
  add({
    kind: StructureKind.Function,
    name: "createParams",
    docs: [
      [
        "A new parameter array initialized as PyTorch does by default (kaiming-uniform dense and convolution",
        "weights and biases, unit norm scales, zero shifts, …), from a seeded generator: the same seed gives the",
        "same parameters on every machine.",
      ].join("\n"),
    ],
    parameters: [{ name: "seed", initializer: "0" }],
    returnType: F,
    statements: [
      "checkSeed(seed);",
      "seedRandom(seed);",
      wasm
        ? `const p = createArena()?.params ?? new ${F}(paramCount); // in a WebAssembly memory of its own when it can`
        : `const p = new ${F}(paramCount);`,
      ...initStatements,
      "return p;",
    ],
  });
  zone = "top";
  if (info.baked) {
    add(bakedSource(F, info.baked, info.bakedBuffers, options));
  }

  add({
    kind: StructureKind.Function,
    name: "createBuffers",
    isExported: true,
    docs: [
      info.bakedBuffers
        ? "A new buffer array holding the baked running statistics."
        : "A new buffer array: running means 0, running variances 1, batch counters 0.",
    ],
    returnType: F,
    statements: info.bakedBuffers
      ? ["return bakedBuffers.slice();"]
      : [`const p = new ${F}(bufferCount);`, ...plan.buffers.map(initStatement), "return p;"],
  });

  // Workspace: one array per activation (the inputs' copies included) and per gradient, sized for the batch
  // of the last call.
  const batchArrays = [
    ...activations.map((b) => ({ name: `act${b}`, type: F, size: `n * ${sizeOf(b)}` })),
    ...plan.inputs.map((v) => ({ name: `act${v.buffer}`, type: arrayOf(v), size: `n * ${v.size}` })),
    ...gradBuffers.map((b) => ({ name: `grad${b}`, type: F, size: `n * ${sizeOf(b)}` })),
    ...scratches.filter((s) => !s.fixed).map((s) => ({ name: s.name, type: F, size: `n * ${s.perSample}` })),
  ];
  /** Parameters (not in an inference build) and buffers are checked against the workspace. */
  const workspaceCheck = !info.baked || plan.bufferCount > 0;
  const workspaceNames = [
    ...batchArrays.map((a) => a.name),
    ...scratches.filter((s) => s.fixed).map((s) => s.name),
    ...(variable ? plan.outputs.flatMap((_, k) => (cutOutputs[k] ? [`short${k}`] : [])) : []),
  ];
  zone = "engine";
  add(`
// ── Workspace: allocated when the batch size changes, reused otherwise (no allocation per call) ─────────

let batchSize = 0;${info.baked ? "" : "\nlet forwardDone = false;"}${
    wasm
      ? `
/** The memory of the parameters of the current call when the dense layers run on WebAssembly there
 *  (\`createParams\` made them), else undefined: the TypeScript kernels. */
let arena: Arena | undefined;`
      : ""
  }${
    uses.lastTraining
      ? `
/** Whether the last forward call ran in training mode (its backward follows the same mode). */
let lastTraining = false;`
      : ""
  }${
    uses.inputGradWanted
      ? `
/** Whether backward computes the gradient of the model's float inputs (\`trainStep\` needs none). */
let inputGradWanted = true;`
      : ""
  }${uses.seqLength ? `\n/** Sequence length of the last forward call (attention masks keys past it). */\nlet seqLength = ${seq};` : ""}
/** Inputs are copied into arrays of the module's own (\`forward\` may be given one of its outputs). */
${batchArrays.map((a) => `let ${a.name}${a.type === F ? "" : `: ${a.type}`} = new ${a.type}(0);`).join("\n")}
${scratches
  .filter((s) => s.fixed)
  .map((s) => `const ${s.name} = new ${F}(${s.perSample});`)
  .join("\n")}
${plan.bufferCount > 0 ? `let bf: ${F} = new ${F}(bufferCount);\nlet ownBuffersReady = false;` : ""}

/** Every array is made before any is replaced: when one cannot be allocated (a batch too large for the
 *  memory), the workspace and the last forward call's values stay as they were. */
function allocate(n: number): void {
  if (n === batchSize) return;
  [${batchArrays.map((a) => a.name).join(", ")}] = [${batchArrays.map((a) => `new ${a.type}(${a.size})`).join(", ")}];
  batchSize = n;${workspaceCheck ? "\n  noteWorkspace();" : ""}
${uses.outputList ? `  outputList = [${outputBuffers.map((b) => `act${b}`).join(", ")}];` : ""}
${floatInputs.length > 1 && !info.baked ? `  inputGradList = [${floatInputs.map((v) => `grad${v.buffer}`).join(", ")}];` : ""}
}
${uses.outputList ? `let outputList: ${outputType} = [${outputBuffers.map((b) => `act${b}`).join(", ")}];` : ""}
${floatInputs.length > 1 && !info.baked ? `let inputGradList: ${inputGradType} = [${floatInputs.map((v) => `grad${v.buffer}`).join(", ")}];` : ""}

${
  workspaceCheck
    ? `/** The memory of every workspace array (each owns all of its ArrayBuffer), noted when the workspace changes. */
let workspaceMemory = new Set<ArrayBufferLike>();

function noteWorkspace(): void {
  workspaceMemory = new Set([${workspaceNames.join(", ")}].map((a) => a.buffer));
}

/** Whether \`a\` shares memory with the workspace (an array this module returned): it would be
 *  overwritten while it is read. One set lookup per call. */
function inWorkspace(a: ArrayBufferView): boolean {
  return workspaceMemory.has(a.buffer);
}`
    : ""
}
${plan.inputs.some((v) => v.dtype === "token") ? tokenCheckSource() : ""}
`);

  zone = "top";
  add({
    kind: StructureKind.Interface,
    name: "ForwardOptions",
    isExported: true,
    properties: [
      {
        name: "training",
        type: "boolean",
        hasQuestionToken: true,
        isReadonly: true,
        docs: ["Training mode: batch statistics (updating `buffers`) and dropout. Default false."],
      },
      {
        name: "buffers",
        type: F,
        hasQuestionToken: true,
        isReadonly: true,
        docs: [
          "Running statistics to use and, in training, update. Default: the module's own, from `createBuffers()`.",
        ],
      },
      {
        name: "seed",
        type: "number",
        hasQuestionToken: true,
        isReadonly: true,
        docs: ["Reseeds the generator that draws dropout masks."],
      },
      ...(seq !== undefined
        ? [
            {
              name: "length",
              type: "number",
              hasQuestionToken: true,
              isReadonly: true,
              docs: [
                `Sequence length of this call, 1..${seq} (default ${seq}); below ${seq} only when \`variableLength\`.`,
              ],
            },
          ]
        : []),
    ],
  });

  zone = "engine";
  add({
    kind: StructureKind.Function,
    name: "forward",
    docs: [
      [
        "Runs the model on `n` samples (`input` holds n × inputSize values, sample after sample) and returns the",
        "outputs, n × outputSize values. The returned array is reused by the next call: copy it to keep it.",
      ].join("\n"),
    ],
    parameters: [
      ...(info.baked ? [] : [{ name: "p", type: F }]),
      { name: many(plan.inputs.length, "input", "inputs"), type: inputType },
      { name: "n", type: "number" },
      { name: "options", type: "ForwardOptions", initializer: "{}" },
    ],
    returnType: outputType,
    statements: [
      // Every argument first; then the workspace (which may fail to allocate, changing nothing); then state.
      "checkBatch(n);",
      "checkOptions(options);",
      ...(info.baked
        ? forwardCalls.some((c) => codeUses(c, "p"))
          ? ["const p = bakedParams;"]
          : []
        : [
            'checkFloats("params", p, paramCount);',
            'if (inWorkspace(p)) throw new TypeError("params share memory with an array this module returned: copy them first");',
          ]),
      ...(plan.inputs.length > 1
        ? [
            `if (!Array.isArray(inputs) || inputs.length !== ${plan.inputs.length}) throw new TypeError(\`inputs must be an array of ${plan.inputs.length} arrays, got \${kindOf(inputs)}\`);`,
          ]
        : []),
      ...(seq !== undefined
        ? [
            `const length = options.length ?? ${seq};`,
            `if (!Number.isInteger(length) || length < 1 || length > ${seq}) throw new RangeError(\`sequence length \${length} is outside 1..${seq} (the declared maximum is ${seq})\`);`,
            ...(variable
              ? []
              : [
                  `if (length !== ${seq}) throw new RangeError(${q(`this model needs the full sequence length ${seq}: ${support?.ok === false ? support.why : ""}`)});`,
                ]),
          ]
        : []),
      ...plan.inputs.map((v, k) => {
        const arr = plan.inputs.length === 1 ? "input" : `inputs[${k}]`;
        const label = plan.inputs.length === 1 ? "input" : `input ${v.name}`;
        // An input of another maximum length (cross-attention's memory) is given whole: `length` is the first's.
        const expected = v.symbolicLength && v.shape[0] === seq ? `n * length * ${rowOf(v)}` : `n * ${v.size}`;
        return v.dtype === "token"
          ? `checkTokens(${q(label)}, ${arr}, ${expected}, ${v.vocab});`
          : `checkFloats(${q(label)}, ${arr}, ${expected});`;
      }),
      ...(plan.bufferCount > 0
        ? [
            "if (options.buffers !== undefined) {",
            '  checkFloats("buffers", options.buffers, bufferCount);',
            ...(info.baked
              ? []
              : ['  if (sharesMemory(options.buffers, p)) throw new TypeError("buffers share memory with params");']),
            '  if (inWorkspace(options.buffers)) throw new TypeError("buffers share memory with an array this module returned: copy them first");',
            "}",
          ]
        : []),
      ...(uses.lastTraining || forwardCalls.some((c) => codeUses(c, "training"))
        ? ["const training = options.training ?? false;"]
        : []),
      "if (options.seed !== undefined) checkSeed(options.seed);",
      ...batchnormCheck(plan),
      "allocate(n);",
      ...(wasm ? ["arena = arenaOf(p);"] : []),
      ...(variable && cutOutputs.some((c) => c) ? ["allocateShort(n, length);"] : []),
      "if (options.seed !== undefined) seedRandom(options.seed);",
      ...(plan.bufferCount > 0
        ? [
            "if (options.buffers !== undefined) bf = options.buffers;",
            "else if (!ownBuffersReady) { bf = createBuffers(); ownBuffersReady = true; }",
          ]
        : []),
      ...plan.inputs.map((v, k) => {
        const arr = plan.inputs.length === 1 ? "input" : `inputs[${k}]`;
        return variable && v.symbolicLength
          ? `if (length === ${seq}) act${v.buffer}.set(${arr}); else padRows(${arr}, act${v.buffer}, n, length, ${rowOf(v)}, ${seq});`
          : `act${v.buffer}.set(${arr});`;
      }),
      ...(uses.seqLength ? ["seqLength = length;"] : []),
      ...forwardCalls,
      ...(uses.lastTraining ? ["lastTraining = training;"] : []),
      ...(info.baked ? [] : ["forwardDone = true;"]),
      ...(() => {
        const shown = plan.outputs.map((v, k) =>
          cutOutputs[k]
            ? `(length === ${seq} ? act${v.buffer} : cutRows(act${v.buffer}, short${k}, n, length, ${rowOf(v)}, ${seq}))`
            : `act${v.buffer}`,
        );
        if (plan.outputs.length === 1) return [`return ${shown[0]};`];
        return cutOutputs.some((c) => c) ? [`return [${shown.join(", ")}];`] : ["return outputList;"];
      })(),
    ],
  });
  if (variable) add(variableLengthSource(F, plan, seq!, cutOutputs, workspaceCheck));

  if (!info.baked)
    add({
      kind: StructureKind.Function,
      name: "backward",
      docs: [
        [
          "Back-propagates `outputGrad` (n × outputSize, the loss gradient of the last `forward` call's outputs)",
          "through the last `forward` call. Writes the gradient of every parameter into `grads` (paramCount",
          "values, overwritten; tied tensors get the sum) and returns the gradient of the input (reused by the",
          "next call).",
        ].join("\n"),
      ],
      parameters: [
        { name: "p", type: F },
        { name: many(plan.outputs.length, "outputGrad", "outputGrads"), type: outputType },
        { name: "grads", type: F },
      ],
      returnType: inputGradType,
      statements: backwardStatements,
    });

  // One statement per function: prettier formats them one by one (see `emitModuleParts`).
  opFunctions.forEach((f, k) =>
    add(k === 0 ? `// ── One function per op${info.baked ? "" : ", forward and backward"} ──\n\n${f}` : f),
  );
  // An inference build has no losses (they write gradients), no backward and no training.
  if (!info.baked)
    add(
      trainingSource(
        F,
        info,
        plan,
        inputType,
        variable,
        uses.inputGradWanted,
        cutOutputs,
        seq,
        wasm,
        wasm && hasMoments(wasmTable!, plan.paramCount),
      ),
    );
  add(engineReturn(info));
  zone = "top";
  if (!info.baked) add(lossesSource(F, plan));
  if (!info.baked) add(trainingTypes(F, info));
  zone = "late";
  if (helperCode.length > 0) addFixed(`// ── Math helpers ──\n\n${helperCode.join("\n\n")}`);
  if (
    opFunctions.some((f) =>
      /\b(denseTiledForward|denseTiledBackward|packedGemm|denseInOutForward|denseInOutBackward)\(/.test(f),
    )
  ) {
    // A thin convolution's forward calls packedGemm itself: the forward entry only when some op calls it.
    const withForward = opFunctions.some((f) => /\bdenseTiledForward\(/.test(f));
    // Only [in, out] products (a GPT-2 layer's on their own): no op calls the backward entry.
    const withBackward = opFunctions.some((f) => /\bdenseTiledBackward\(/.test(f));
    addFixed(`// ── Shared dense kernels ──\n\n${denseTiledSource(F, options.tileColumns, withForward, withBackward)}`);
  }
  if (wasm) addFixed(wasmTargetSource(F, wasmTable!, plan.paramCount, options.target ?? "ts"));
  if (opFunctions.some((f) => /\b(denseInOutForward|denseInOutBackward)\(/.test(f))) {
    addFixed(`// ── Dense kernels for weights stored [in, out] ──\n\n${denseInOutSource(F)}`);
  }
  zone = "tail";
  add(instanceSource(F, info, plan, inputType, outputType, inputGradType, seq, wasm));
  if (!info.baked) {
    addFixed(`// ── Weight files: safetensors (src/weights/safetensors.ts) ──\n\n${runtimeText("safetensors")}`);
    addFixed(
      `// ── Weight files: state dicts and checkpoints (src/emit/runtime/weights.ts) ──\n\n${runtimeText("weights")}`,
    );
  }
  return arrange(statements, zones, fixed);
}

/** The engine's functions, returned by `createEngine`. */
function engineReturn(info: ModuleInfo): string {
  const names = ["createParams", "forward", ...(info.baked ? [] : ["backward", "createTrainer", "trainStep"])];
  const random = info.baked
    ? ""
    : `\n    /** The random stream's state (dropout masks): saved and restored by checkpoints. */\n    random: {\n      get: (): number => rngState,\n      set: (state: number): void => {\n        rngState = state >>> 0;\n      },\n    },`;
  return `return {\n    ${names.join(",\n    ")},${random}\n  };`;
}

/** The module's own engine (the flat functions) and `createModel`: instances that own their parameters,
 *  buffers, gradients, workspaces and random stream. */
function instanceSource(
  F: string,
  info: ModuleInfo,
  plan: Plan,
  inputType: string,
  outputType: string,
  inputGradType: string,
  seq: number | undefined,
  wasm: boolean,
): string {
  const baked = info.baked !== undefined;
  const inputName = plan.inputs.length === 1 ? "input" : "inputs";
  const stepLength = seq !== undefined && lengthSupport(plan).ok;
  const flat = [
    [
      "createParams",
      "A new parameter array initialized as PyTorch does by default (kaiming-uniform dense and convolution weights and biases, unit norm scales, zero shifts, …), from a seeded generator: the same seed gives the same parameters on every machine.",
    ],
    [
      "forward",
      "Runs the model on `n` samples (`input` holds n × inputSize values, sample after sample) with the parameters `p` and returns the outputs, n × outputSize values, reused by the next call (copy them to keep them). Without `options.buffers` it uses the module's own running statistics: `createModel` gives each model its own.",
    ],
    ...(baked
      ? []
      : [
          [
            "backward",
            "Back-propagates `outputGrad` (the loss gradient of the last `forward` call's outputs) through that call: writes every parameter's gradient into `grads` (overwritten; tied tensors get the sum) and returns the input's gradient (reused by the next call).",
          ],
          [
            "createTrainer",
            "A trainer on the module's own engine: its parameters (`params`, or new ones from `options.seed`), gradients, buffers (`buffers`, or its own) and optimizer state.",
          ],
          [
            "trainStep",
            "One optimization step of a trainer from `createTrainer` on a batch: forward (training mode), loss, backward, gradient clipping, update; returns the loss. A step that throws has changed nothing.",
          ],
        ]),
  ];
  const wrap = (text: string) => text.replace(/(.{1,110})(\s+|$)/g, "$1\n *  ").replace(/\n \* {2}$/, "");
  const outputGradName = plan.outputs.length === 1 ? "outputGrad" : "outputGrads";
  /** Each flat function's parameters (declared, for declaration files emitted in isolation) and arguments. */
  const signatures: Record<string, { params: string; args: string; returns: string }> = {
    createParams: { params: "seed = 0", args: "seed", returns: F },
    forward: {
      params: `${baked ? "" : `p: ${F}, `}${inputName}: ${inputType}, n: number, options: ForwardOptions = {}`,
      args: `${baked ? "" : "p, "}${inputName}, n, options`,
      returns: outputType,
    },
    backward: {
      params: `p: ${F}, ${outputGradName}: ${outputType}, grads: ${F}`,
      args: `p, ${outputGradName}, grads`,
      returns: inputGradType,
    },
    createTrainer: {
      params: `options: TrainerOptions, params?: ${F}, buffers?: ${F}`,
      args: "options, params, buffers",
      returns: "Trainer",
    },
    trainStep: {
      params: `trainer: Trainer, ${inputName}: ${inputType}, target: ArrayLike<number>, n: number${stepLength ? ", length?: number" : ""}`,
      args: `trainer, ${inputName}, target, n${stepLength ? ", length" : ""}`,
      returns: "number",
    },
  };
  const flatExports = flat
    .map(([name, doc]) => {
      const x = signatures[name!]!;
      return `/** ${wrap(doc!)} */\nexport function ${name}(${x.params}): ${x.returns} {\n  return engine.${name}(${x.args});\n}`;
    })
    .join("\n\n");
  const modelTypes = `
/** Options of \`createModel\`. */
export interface ModelOptions {
  /** Seed of the initial parameters (PyTorch's default initialization) and of dropout masks; default 0. */
  readonly seed?: number;
}

/** What a model instance knows about itself: the manifest (PyTorch \`state_dict\` names, shapes, layout). */
export interface Manifest {
  readonly modelName: string;
  readonly inputs: typeof inputs;
  readonly outputs: typeof outputs;
  readonly paramCount: number;
  readonly bufferCount: number;
  readonly params: readonly TensorInfo[];
  readonly buffers: readonly TensorInfo[];
}

/** The manifest, as models give it. */
export const manifest: Manifest = { modelName, inputs, outputs, paramCount, bufferCount, params, buffers };
${
  baked
    ? ""
    : `
/** A trainer bound to a model: it updates the model's parameters and running statistics. */
export interface ModelTrainer {
  /** One step on a batch: forward in training mode, loss, backward, gradient clipping, update; returns the
   *  loss. A step that throws has changed nothing. */
  step(${inputName}: ${inputType}, target: ArrayLike<number>, n: number${stepLength ? ", length?: number" : ""}): number;
  /** The learning rate of the next step: set it between steps (a number > 0); with a schedule, the last
   *  step's rate. */
  lr: number;
  /** Steps taken. */
  readonly steps: number;
  /** The gradients' global L2 norm at the last step, before clipping. */
  readonly gradNorm: number;
  /** Its state: options, gradients and the optimizer's moments (\`m\`, \`v\`), the model's own arrays. */
  readonly state: Trainer;
  /** Everything a resumed run needs to take the same steps bit for bit, as safetensors: the state dict, the
   *  optimizer's moments (\`optimizer.m.<name>\`, \`optimizer.v.<name>\`) and, in \`__metadata__\`, the
   *  optimizer, step count, learning rate and random stream. */
  saveCheckpoint(): Uint8Array;
  /** Restores a checkpoint of \`saveCheckpoint\` (same model, same optimizer): all of it is checked before
   *  anything changes. */
  loadCheckpoint(bytes: Uint8Array | ArrayBuffer): void;
}
`
}
/** A model instance: its own parameters, buffers, gradients, workspaces and random stream — two instances
 *  share nothing that changes. */
export interface Model {
  readonly manifest: Manifest;${
    baked
      ? ""
      : `
  /** The parameters, paramCount values in \`manifest.params\` order (tied tensors stored once). */
  readonly params: ${F};
  /** The gradients \`backward\` writes. */
  readonly grads: ${F};`
  }
  /** The buffers (BatchNorm running statistics), bufferCount values in \`manifest.buffers\` order. */
  readonly buffers: ${F};
  /** Runs the model on \`n\` samples, in training mode unless \`options.training\` is false (batch statistics,
   *  updating \`buffers\`; dropout); the outputs are reused by the next call: copy them to keep them. */
  forward(${inputName}: ${inputType}, n: number, options?: Omit<ForwardOptions, "buffers">): ${outputType};
  /** Evaluation: running statistics, no dropout (PyTorch's \`model.eval()\`); \`buffers\` are not changed. */
  predict(${inputName}: ${inputType}, n: number, options?: Omit<ForwardOptions, "buffers" | "training" | "seed">): ${outputType};${
    baked
      ? ""
      : `
  /** Back-propagates the loss gradient of the last call's outputs: the parameters' gradients into
   *  \`grads\`; returns the input's gradient. */
  backward(${plan.outputs.length === 1 ? "outputGrad" : "outputGrads"}: ${outputType}): ${inputGradType};
  /** A trainer on this model (SGD with momentum, Adam or AdamW). */
  createTrainer(options: TrainerOptions): ModelTrainer;
  /** Loads a PyTorch state dict from safetensors bytes (F32, F64, F16, BF16; parameters and buffers): all of
   *  it is checked first, and an error lists every problem and changes nothing. */
  loadSafetensors(bytes: Uint8Array | ArrayBuffer, options?: LoadOptions): LoadReport;
  /** The state dict as safetensors, for \`safetensors.torch.load_file\` and \`load_state_dict\` (a tied tensor
   *  under both of its names). */
  saveSafetensors(): Uint8Array;`
  }
}
`;
  const trainerCode = baked
    ? ""
    : `
    createTrainer(options: TrainerOptions): ModelTrainer {
      const state = e.createTrainer(options, params, buffers);
      const view = {
        params,
        buffers,
        m: state.m,
        v: state.v,
        optimizer: state.options.optimizer,
        get steps() {
          return state.steps;
        },
        set steps(x: number) {
          state.steps = x;
        },
        get lr() {
          return state.lr;
        },
        set lr(x: number) {
          state.lr = x;
        },
        get random() {
          return e.random.get();
        },
        set random(x: number) {
          e.random.set(x);
        },
      };
      return {
        step: (${inputName}: ${inputType}, target: ArrayLike<number>, n: number${stepLength ? ", length?: number" : ""}) => e.trainStep(state, ${inputName}, target, n${stepLength ? ", length" : ""}),
        get lr() {
          return state.lr;
        },
        set lr(x: number) {
          if (typeof x !== "number" || !Number.isFinite(x) || x <= 0) throw new RangeError(\`lr must be a finite number > 0, got \${x}\`);
          state.lr = x;
        },
        get steps() {
          return state.steps;
        },
        get gradNorm() {
          return state.gradNorm;
        },
        state,
        saveCheckpoint: () => saveTrainerState(manifest.params, manifest.buffers, view),
        loadCheckpoint: (bytes: Uint8Array | ArrayBuffer) => loadTrainerState(bytes, manifest.params, manifest.buffers, view),
      };
    },`;
  return `
// ── The module's own engine, and models ────────────────────────────────────────────────────────────────

const engine = createEngine();

${flatExports}
${modelTypes}
/** A new model: parameters initialized as PyTorch does (from \`options.seed\`), fresh running statistics, and
 *  an engine of its own. */
export function createModel(options: ModelOptions = {}): Model {
  if (typeof options !== "object" || options === null) throw new TypeError(\`options must be an object, got \${kindOf(options)}\`);
  const seed = options.seed ?? 0;
  checkSeed(seed);
  const e = createEngine();${baked ? "\n  e.createParams(seed);" : `\n  const params = e.createParams(seed);\n  const grads = ${wasm ? `arenaOf(params)?.grads ?? new ${F}(paramCount)` : `new ${F}(paramCount)`};`}
  const buffers = createBuffers();
  return {
    manifest,${baked ? "" : "\n    params,\n    grads,"}
    buffers,
    forward(${inputName}: ${inputType}, n: number, options: Omit<ForwardOptions, "buffers"> = {}): ${outputType} {
      checkOptions(options);
      return e.forward(${baked ? "" : "params, "}${inputName}, n, { ...options, training: options.training ?? true, buffers });
    },
    predict(${inputName}: ${inputType}, n: number, options: Omit<ForwardOptions, "buffers" | "training" | "seed"> = {}): ${outputType} {
      checkOptions(options);
      return e.forward(${baked ? "" : "params, "}${inputName}, n, { ...options, training: false, buffers });
    },${
      baked
        ? ""
        : `
    backward(${plan.outputs.length === 1 ? "outputGrad" : "outputGrads"}: ${outputType}): ${inputGradType} {
      return e.backward(params, ${plan.outputs.length === 1 ? "outputGrad" : "outputGrads"}, grads);
    },${trainerCode}
    loadSafetensors(bytes: Uint8Array | ArrayBuffer, options: LoadOptions = {}): LoadReport {
      return loadStateDict(bytes, options, manifest.params, manifest.buffers, params, buffers);
    },
    saveSafetensors(): Uint8Array {
      return saveStateDict(manifest.params, manifest.buffers, params, buffers);
    },`
    }
  };
}
`;
}

/** Where a statement goes: see \`moduleStatements\`. */
type Zone = "top" | "engine" | "late" | "tail";

/** The statements in their places: the top, then \`createEngine\` around the engine's, then the shared math
 *  and the tail (the module's own instance, \`createModel\`, the weight-file runtime). */
function arrange(
  statements: readonly StatementStructures[],
  zones: readonly Zone[],
  fixed: ReadonlySet<number>,
): { statements: StatementStructures[]; fixed: Set<number>; inner: Set<number>; raw: Map<number, "open" | "close"> } {
  const out: StatementStructures[] = [];
  const outFixed = new Set<number>();
  const inner = new Set<number>();
  const raw = new Map<number, "open" | "close">();
  const place = (k: number) => {
    if (fixed.has(k)) outFixed.add(out.length);
    if (zones[k] === "engine") inner.add(out.length);
    out.push(statements[k]!);
  };
  const each = (z: Zone) => zones.forEach((x, k) => x === z && place(k));
  each("top");
  raw.set(out.length, "open");
  out.push(
    `// ── The engine: workspaces, the random stream and every function that uses them ────────────────────────

/** A new engine: its own workspaces and random stream, shared with no other (the module's flat functions
 *  use one, each model from \`createModel\` its own). */
function createEngine() {
` as unknown as StatementStructures,
  );
  each("engine");
  raw.set(out.length, "close");
  out.push("}\n" as unknown as StatementStructures);
  each("late");
  each("tail");
  return { statements: out, fixed: outFixed, inner, raw };
}

/** Training-mode batchnorm needs more than one value per channel (PyTorch: "Expected more than 1 value per
 *  channel when training"); checked before anything runs, for the layer with the fewest positions. */
function batchnormCheck(plan: Plan): string[] {
  let least: { name: string; positions: number } | undefined;
  for (const op of plan.ops) {
    if (op.kind !== "batchnorm") continue;
    const v = plan.values[op.inputs[0]!]!;
    const positions = v.size / v.shape[0]!;
    if (least === undefined || positions < least.positions) least = { name: op.name, positions };
  }
  if (least === undefined) return [];
  return [
    `if (training && n * ${least.positions} < 2) {`,
    `  throw new RangeError(\`${least.name}: batchnorm in training mode needs more than one value per channel, got \${n * ${least.positions}}\`);`,
    "}",
  ];
}

/** Whether generated code reads `name` (a whole identifier, not a property, outside comments). */
export function codeUses(code: string, name: string): boolean {
  const bare = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  return new RegExp(`(?<![\\w$.])${name}(?![\\w$])`).test(bare);
}

/** The statements of `backward`: checks, zeroing of the gradients no kernel assigns, the output gradients,
 *  then every op's backward, last op first. */
function backwardBody(
  plan: Plan,
  claims: Claims,
  buffersUsed: readonly number[],
  cutOutputs: readonly boolean[],
  seq: number | undefined,
  rowOf: (v: { size: number }) => number,
  backwardCalls: readonly string[],
): string[] {
  const floatInputs = plan.inputs.filter((v) => v.dtype !== "token");
  const outputBuffers = new Set(plan.outputs.map((v) => v.buffer));
  const gradArray = (k: number) => (plan.outputs.length === 1 ? "outputGrad" : `outputGrads[${k}]`);
  return [
    // Every argument first, then the output gradients are copied in (before anything is zeroed: an output
    // gradient may be \`grads\` or an array an earlier call returned), then the rest is zeroed.
    'if (!forwardDone) throw new RangeError("backward needs a forward call first");',
    'checkFloats("params", p, paramCount);',
    'if (inWorkspace(p)) throw new TypeError("params share memory with an array this module returned: copy them first");',
    "const n = batchSize;",
    ...(plan.outputs.length > 1
      ? [
          `if (!Array.isArray(outputGrads) || outputGrads.length !== ${plan.outputs.length}) throw new TypeError(\`outputGrads must be an array of ${plan.outputs.length} arrays, got \${kindOf(outputGrads)}\`);`,
        ]
      : []),
    ...plan.outputs.map(
      (v, k) =>
        `checkFloats(${q(gradArray(k))}, ${gradArray(k)}, ${cutOutputs[k] ? `n * seqLength * ${rowOf(v)}` : `n * ${v.size}`});`,
    ),
    'checkFloats("grads", grads, paramCount);',
    'if (sharesMemory(grads, p)) throw new TypeError("grads share memory with params");',
    'if (inWorkspace(grads)) throw new TypeError("grads share memory with an array this module returned: copy them first");',
    ...plan.outputs.map((v, k) => {
      const arr = gradArray(k);
      // Two outputs may be one array (`y0 = flatten`, `y1 = reshape(…)` of one value share its buffer):
      // the second adds its gradient to the first's instead of overwriting it (found by the fuzzer).
      if (plan.outputs.slice(0, k).some((u) => u.buffer === v.buffer)) {
        const g = `grad${v.buffer}`;
        return cutOutputs[k]
          ? `for (let b = 0; b < n; b++) for (let i = 0; i < seqLength * ${rowOf(v)}; i++) ${g}[b * ${seq! * rowOf(v)} + i]! += ${arr}[b * seqLength * ${rowOf(v)} + i]!;`
          : `for (let i = 0; i < ${arr}.length; i++) ${g}[i]! += ${arr}[i]!;`;
      }
      return cutOutputs[k]
        ? `if (seqLength === ${seq}) grad${v.buffer}.set(${arr}); else padRows(${arr}, grad${v.buffer}, n, seqLength, ${rowOf(v)}, ${seq});`
        : `copy(${arr}, grad${v.buffer});`;
    }),
    "const gp = grads;",
    ...zeroParamGrads(claims.params, plan.paramCount),
    ...buffersUsed.filter((b) => !claims.buffers.has(b) && !outputBuffers.has(b)).map((b) => `zero(grad${b});`),
    ...(backwardCalls.some((c) => codeUses(c, "training")) ? ["const training = lastTraining;"] : []),
    ...backwardCalls,
    ...(floatInputs.length === 0
      ? []
      : [floatInputs.length === 1 ? `return grad${floatInputs[0]!.buffer};` : "return inputGradList;"]),
  ];
}

/** The fixed runtime every module starts with: argument checks, array helpers and the seeded generator —
 *  each helper only when the module uses it. */
function runtimeSource(
  F: string,
  uses: {
    readonly zero: boolean;
    readonly copy: boolean;
    readonly random: boolean;
    readonly gaussian: boolean;
    readonly checkFloats: boolean;
    readonly sharesMemory: boolean;
  },
): string {
  const parts = [
    `// ── Checks: a generated module never trusts its caller ──────────────────────────────────────────────

// Every exported function checks all of its arguments before it changes anything (a workspace array, a
// buffer, the random stream, a gradient): a call that throws leaves the module as it was. Checks run once
// per call on each argument, never per element, except for integer ids and class targets (each must be
// read to be known in range).

function checkLength(what: string, array: ArrayLike<number>, expected: number): void {
  if (array.length !== expected) {
    throw new RangeError(\`\${what} has \${array.length} elements, expected \${expected}\`);
  }
}

/** What a caller passed, for messages: \`Float64Array\`, \`an array\`, \`string\`, \`null\`. */
function kindOf(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (ArrayBuffer.isView(x)) return x.constructor.name;
  return typeof x;
}
${
  uses.checkFloats
    ? `
/** An array of this module's storage type (\`${F}\`: another kind would be converted or truncated
 *  silently, a string or a plain object read as not-a-number) and of the expected length. */
function checkFloats(what: string, array: unknown, expected: number): void {
  if (!(array instanceof ${F})) throw new TypeError(\`\${what} must be a ${F}, got \${kindOf(array)}\`);
  checkLength(what, array, expected);
}
`
    : ""
}${
      uses.sharesMemory
        ? `
/** Whether two arrays share memory: one written while the other is read would give wrong numbers. */
function sharesMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
`
        : ""
    }
/** \`options\` of \`forward\`: an object; \`training\` a boolean when given. */
function checkOptions(options: unknown): void {
  if (typeof options !== "object" || options === null) throw new TypeError(\`options must be an object, got \${kindOf(options)}\`);
  const training: unknown = (options as { training?: unknown }).training;
  if (training !== undefined && typeof training !== "boolean") throw new TypeError(\`options.training must be a boolean, got \${kindOf(training)}\`);
}`,
    uses.zero
      ? `/** Zeroes an array: a loop for short ones (\`fill\` is a call into the runtime, tens of ns), \`fill\` otherwise. */
function zero(a: ${F}): void {
  if (a.length > 64) a.fill(0);
  else for (let i = 0; i < a.length; i++) a[i] = 0;
}`
      : "",
    uses.copy
      ? `/** Copies \`from\` into \`to\` (same length), a loop for short arrays${uses.zero ? " as in `zero`" : ""}. */
function copy(from: ArrayLike<number>, to: ${F}): void {
  if (to.length > 64) to.set(from);
  else for (let i = 0; i < to.length; i++) to[i] = from[i]!;
}`
      : "",
    `function checkBatch(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(\`batch must be a whole number of at least 1, got \${n}\`);
}`,
    `/** A seed is an integer in [0, 2^32): anything else would silently stand for another seed (\`>>> 0\`). */
function checkSeed(seed: unknown): void {
  if (typeof seed !== "number") throw new TypeError(\`seed must be a number, got \${typeof seed}\`);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new RangeError(\`seed must be an integer in [0, 2^32), got \${seed}\`);
  }
}`,
  ];
  return `\n${parts.filter((x) => x !== "").join("\n\n")}\n`;
}

/** The engine's seeded generator (mulberry32): its state is the engine's, read and set by checkpoints. A
 *  module that draws no random numbers and cannot train accepts seeds and ignores them. */
function randomSource(uses: { readonly random: boolean; readonly gaussian: boolean }, rng: boolean): string {
  const parts = [
    rng
      ? `// ── Seeded random numbers (mulberry32) ──────────────────────────────────────────────────────────────

let rngState = 0;

function seedRandom(seed: number): void {
  rngState = seed >>> 0;
}`
      : `/** This module draws no random numbers: seeds are accepted and ignored. */
function seedRandom(_seed: number): void {}`,
    uses.random || uses.gaussian
      ? `/** Uniform in [0, 1). */
function random(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}`
      : "",
    uses.gaussian
      ? `/** Standard normal (Box–Muller). */
function gaussian(): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}`
      : "",
  ];
  return `\n${parts.filter((x) => x !== "").join("\n\n")}\n`;
}

function header(plan: Plan, info: ModuleInfo, options: EmitOptions): string {
  return `/**
 * @generated by nnc ${info.version} from ${info.source.replace(/\*\//g, "* /")} — model ${plan.model}.
 * Do not edit: change the spec and run \`nnc build\` again.
 *
 * ${plan.paramCount} parameters${plan.params.some((t) => t.tiedTo) ? " (tied tensors stored once)" : ""}, ${plan.bufferCount} buffer elements.
 * Input [${plan.input.shape.join(", ")}] per sample, output [${plan.output.shape.join(", ")}] per sample; storage ${options.dtype}, arithmetic in doubles.
 * No runtime dependency.
 */`;
}

function tensorLiteral(t: PlannedTensor): string {
  return `{ name: ${q(t.name)}, shape: [${t.shape.join(", ")}], role: ${q(t.role)}, offset: ${t.offset}, size: ${t.size}, trainable: ${t.trainable}${t.tiedTo ? `, tiedTo: ${q(t.tiedTo)}` : ""} }`;
}

function initStatement(t: PlannedTensor): string {
  const range = `for (let i = ${t.offset}; i < ${t.offset + t.size}; i++)`;
  const init = t.init;
  if (!init) return `// ${t.name}: zeros`;
  switch (init.kind) {
    case "uniform":
      return `${range} p[i] = (2 * random() - 1) * ${init.bound}; // ${t.name}: U(±${init.bound})`;
    case "normal": {
      const draw = `${range} p[i] = gaussian() * ${init.std}; // ${t.name}: N(0, ${init.std}²)`;
      if (init.zeroRow === undefined) return draw;
      const width = t.shape[1] ?? 1;
      const from = t.offset + init.zeroRow * width;
      return `${draw}\nfor (let i = ${from}; i < ${from + width}; i++) p[i] = 0; // ${t.name}: padding_idx row ${init.zeroRow}`;
    }
    case "const":
      return `${range} p[i] = ${init.value}; // ${t.name}`;
  }
}

/** Zeroing of the parameter gradients that no kernel assigns: all of them, or the gaps between claims. */
function zeroParamGrads(claimed: readonly [number, number][], count: number): string[] {
  if (claimed.length === 0) return ["zero(gp);"];
  const gaps: [number, number][] = [];
  let at = 0;
  for (const [from, to] of [...claimed].sort((a, b) => a[0] - b[0])) {
    if (from > at) gaps.push([at, from]);
    at = Math.max(at, to);
  }
  if (at < count) gaps.push([at, count]);
  return gaps.map(([from, to]) =>
    to - from > 64 ? `gp.fill(0, ${from}, ${to});` : `for (let i = ${from}; i < ${to}; i++) gp[i] = 0;`,
  );
}

/** The names in each module's scratch list, for a lookup instead of a search per request. */
const scratchNames = new WeakMap<Scratch[], Set<string>>();

function context(
  plan: Plan,
  op: IrOp,
  index: number,
  options: EmitOptions,
  scratches: Scratch[],
  aName: (id: number) => string,
  gName: (id: number) => string,
  baked: Float64Array | undefined,
  claims: Claims,
  wasmTable: WasmDenseTable | undefined,
): EmitCtx {
  // A bare tensor (`bare = true`) is the layer's `weight`, named by the layer alone; an op that applies an
  // instance again (`share`) reads the instance's tensors.
  const owner = op.reuses ?? op.name;
  const local = (tensor: string) =>
    tensor === "weight" && op.tensors.some((t) => t.bare) ? owner : `${owner}.${tensor}`;
  let named = scratchNames.get(scratches);
  if (!named) scratchNames.set(scratches, (named = new Set(scratches.map((s) => s.name))));
  const names = named;
  const values = (ids: readonly number[]) => ids.map((id) => plan.values[id]!);
  const seqMax = plan.inputs.find((v) => v.symbolicLength)?.shape[0];
  return {
    op,
    x: op.inputs.map(aName),
    y: op.outputs.map(aName),
    gx: op.inputs.map(gName),
    gy: op.outputs.map(gName),
    gxWanted: op.inputs.map((id) =>
      plan.inputs.some((v) => v.buffer === plan.values[id]!.buffer) ? "inputGradWanted" : "true",
    ),
    inShapes: values(op.inputs).map((v) => v.shape),
    outShapes: values(op.outputs).map((v) => v.shape),
    inSizes: values(op.inputs).map((v) => v.size),
    // `seqLength` is the model input's length: a value whose symbolic length is another (`s + 1` after a
    // `class_token`, which mixes positions, so the call is never shorter) has all of its positions.
    inSymbolic: values(op.inputs).map((v) => v.symbolicLength === true && v.shape[0] === seqMax),
    outSizes: values(op.outputs).map((v) => v.size),
    claimInputGrad(j) {
      const buffer = plan.values[op.inputs[j]!]!.buffer;
      const reads = (o: IrOp) => o.inputs.filter((id) => plan.values[id]!.buffer === buffer).length;
      // the first writer in the backward pass: no later op reads this buffer, this op reads it once, and
      // it is not an output (whose gradient the loss puts there first)
      const claimable =
        reads(op) === 1 &&
        claims.lastReader.get(buffer) === index &&
        !plan.outputs.some((v) => v.buffer === buffer) &&
        !claims.buffers.has(buffer);
      if (claimable) claims.buffers.add(buffer);
      return claimable;
    },
    claimParamGrads(tensors) {
      // exactly one tensor lives at each offset (a tie shares the offset), exactly this range, unclaimed
      const claimable = tensors.every(
        ([offset, size]) =>
          claims.owners.get(offset)?.count === 1 &&
          claims.owners.get(offset)?.size === size &&
          !claims.params.some(([from]) => from === offset),
      );
      if (claimable) for (const [offset, size] of tensors) claims.params.push([offset, offset + size]);
      return claimable;
    },
    param(tensor) {
      const offset = plan.offsets.get(local(tensor));
      if (offset === undefined) throw new Error(`internal: no parameter ${local(tensor)}`);
      return offset;
    },
    hasParam: (tensor) => plan.offsets.has(local(tensor)),
    transposedParam(tensor) {
      const t = op.tensors.find((x) => x.name === local(tensor));
      if (!t) throw new Error(`internal: no parameter ${local(tensor)}`);
      return (t.layout === "in_out") !== (t.tiedTransposed === true);
    },
    buffer(tensor) {
      const offset = plan.bufferOffsets.get(local(tensor));
      if (offset === undefined) throw new Error(`internal: no buffer ${local(tensor)}`);
      return offset;
    },
    scratch(label, perSample) {
      const name = `scratch${index}_${label}`;
      if (!names.has(name)) {
        scratches.push({ name, perSample });
        names.add(name);
      }
      return name;
    },
    workspace(label, size) {
      const name = `work${index}_${label}`;
      if (!names.has(name)) {
        scratches.push({ name, perSample: size, fixed: true });
        names.add(name);
      }
      return name;
    },
    id: `op${index}`,
    args: new ArgReader(op.args, op.entry),
    options,
    inference: baked !== undefined,
    ...(wasmTable
      ? {
          wasmDense: (i: number, o: number, bias: boolean, staged?: boolean, inOut?: boolean) =>
            wasmTable.index(i, o, bias, staged, inOut),
          wasmDenseSplit: (i: number, q: number, kv: number, bias: boolean) => wasmTable.split(i, q, kv, bias),
          wasmConv: (shape: Omit<ConvShape, "dtype">, transposed?: boolean) => wasmTable.conv(shape, transposed),
          wasmAttention: (hd: number, queries: number, keys: number) => wasmTable.attention(hd, queries, keys),
          wasmUnary: (fn: UnaryFunction) => wasmTable.unary(fn),
          wasmUnaryGrad: (fn: GradientFunction | OutputGradientFunction, accumulate: boolean) =>
            wasmTable.unaryGrad(fn, accumulate),
        }
      : {}),
    weight: (k) => (baked ? lit(options.dtype === "float32" ? Math.fround(baked[k]!) : baked[k]!) : `p[${k}]!`),
  };
}

/** The baked parameters of an inference build, as base64 of their little-endian bytes, and a decoder
 *  (no `atob`, so the module needs neither a DOM nor Node's globals). */
function bakedSource(F: string, baked: Float64Array, buffers: Float64Array | undefined, options: EmitOptions): string {
  return `// ── Baked parameters (an inference build: \`nnc build --bake-weights\`) ──────────────────────────────

${base64DecoderSource("decodeBase64")}

/** The parameters this module was built with (little-endian ${options.dtype}). Small dense layers use them
 *  as constants in their code; the others read them from here. */
export const bakedParams: ${F} = new ${F}(decodeBase64(${JSON.stringify(base64Of(baked, options))}).buffer);
${
  buffers
    ? `
/** The buffers this module was built with (BatchNorm running statistics, little-endian ${options.dtype}). */
const bakedBuffers: ${F} = new ${F}(decodeBase64(${JSON.stringify(base64Of(buffers, options))}).buffer);
`
    : ""
}`;
}

/** An array's values in the storage type, as base64 of their little-endian bytes. */
function base64Of(values: Float64Array, options: EmitOptions): string {
  const typed = options.dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values);
  const bytes = new Uint8Array(typed.buffer);
  let base64 = "";
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    base64 += alphabet[a >> 2]! + alphabet[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    base64 += b === undefined ? "=" : alphabet[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    base64 += c === undefined ? "=" : alphabet[c & 63]!;
  }
  return base64;
}

/** Padding shorter sequences to the layout at the maximum, and cutting outputs back. */
function variableLengthSource(
  F: string,
  plan: Plan,
  max: number,
  cutOutputs: readonly boolean[],
  noted: boolean,
): string {
  const shorts = plan.outputs.flatMap((v, k) => (cutOutputs[k] ? [{ k, size: v.size }] : []));
  return `
// ── Shorter sequences: padded to ${max} positions (the ops cannot see past a position, or attention masks
// the padded keys) and cut back ──────────────────────────────────────────────────────────────────────────

${
  shorts.length === 0
    ? ""
    : `let shortFor = "";
${shorts.map((x) => `let short${x.k} = new ${F}(0);`).join("\n")}

/** Every array is made before any is replaced (as in \`allocate\`). */
function allocateShort(n: number, length: number): void {
  const key = \`\${n}:\${length}\`;
  if (key === shortFor || length === ${max}) return;
  [${shorts.map((x) => `short${x.k}`).join(", ")}] = [${shorts.map((x) => `new ${F}(n * length * ${x.size / max})`).join(", ")}];
  shortFor = key;${noted ? "\n  noteWorkspace();" : ""}
}
`
}
/** Copies n rows-of-\`length\` samples into their places in a layout of \`max\` positions, zeros elsewhere. */
function padRows<T extends Int32Array | ${F}>(short: T, full: T, n: number, length: number, row: number, max: number): T {
  full.fill(0);
  for (let b = 0; b < n; b++) full.set(short.subarray(b * length * row, (b + 1) * length * row), b * max * row);
  return full;
}

/** The first \`length\` positions of each sample of a layout of \`max\` positions. */
function cutRows(full: ${F}, short: ${F}, n: number, length: number, row: number, max: number): ${F} {
  for (let b = 0; b < n; b++) short.set(full.subarray(b * max * row, b * max * row + length * row), b * length * row);
  return short;
}
`;
}

/** Token ids are checked before any work: an id outside the vocabulary would read past a table. The one
 *  check that reads every element (an Int32Array holds integers; their range must be seen to be known). */
function tokenCheckSource(): string {
  return `
function checkTokens(what: string, ids: unknown, expected: number, vocab: number): void {
  if (!(ids instanceof Int32Array)) throw new TypeError(\`\${what} must be an Int32Array of token ids, got \${kindOf(ids)}\`);
  checkLength(what, ids, expected);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= vocab) throw new RangeError(\`\${what}: token id \${id} at position \${i} is outside the vocabulary 0..\${vocab - 1}\`);
  }
}
`;
}

function helperSource(name: string): string {
  return activationHelpers[name] ?? "";
}

function lossesSource(F: string, plan: Plan): string {
  const out = plan.output.shape;
  const classes = out.length === 0 ? 1 : out[out.length - 1]!;
  return `
// ── Losses: each returns the mean loss and, given \`grad\`, writes its gradient for \`backward\` ─────────

/** An output of n samples: n × outputSize values, or fewer per sample for a shorter sequence. */
function checkRows(what: string, output: unknown, n: number, size: number): void {
  checkBatch(n);
  if (!(output instanceof ${F})) throw new TypeError(\`\${what} must be a ${F}, got \${kindOf(output)}\`);
  const length = output.length;
  if (length === 0 || length % n !== 0 || length > n * size) {
    throw new RangeError(\`\${what} has \${length} elements, expected n × \${size} (n = \${n})\`);
  }
}

/** Targets: a typed array or an array of numbers (a string or a plain object would read as not-a-number), of the
 *  expected length. An array's elements are read once here: they could be anything. */
function checkTargets(what: string, target: unknown, expected: number): void {
  if (Array.isArray(target)) {
    for (let i = 0; i < target.length; i++) {
      const t: unknown = target[i];
      if (typeof t !== "number") throw new TypeError(\`\${what}[\${i}] must be a number, got \${kindOf(t)}\`);
    }
  } else if (!ArrayBuffer.isView(target) || target instanceof DataView || target instanceof BigInt64Array || target instanceof BigUint64Array) {
    throw new TypeError(\`\${what} must be a typed array or an array of numbers, got \${kindOf(target)}\`);
  }
  checkLength(what, target as ArrayLike<number>, expected);
}

/** The gradient array a loss writes: the module's storage type, one value per output element, sharing no
 *  memory with the output or the targets (it is written while they are read). */
function checkLossGrad(grad: unknown, count: number, output: ${F}, target: ArrayLike<number>): void {
  checkFloats("grad", grad, count);
  const g = grad as ${F};
  if (sharesMemory(g, output)) throw new TypeError("grad shares memory with the output");
  if (ArrayBuffer.isView(target) && sharesMemory(g, target)) throw new TypeError("grad shares memory with the targets");
}

/** Mean squared error over all n × outputSize elements (PyTorch \`F.mse_loss\`, reduction "mean"). */
export function mseLoss(output: ${F}, target: ArrayLike<number>, n: number, grad?: ${F}): number {
  checkRows("output", output, n, outputSize);
  const count = output.length;
  checkTargets("target", target, count);
  if (grad !== undefined) checkLossGrad(grad, count, output, target);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const d = output[i]! - target[i]!;
    sum += d * d;
    if (grad !== undefined) grad[i] = (2 * d) / count;
  }
  return sum / count;
}

/** Class indices: every target is checked before any gradient is written (the one loss check that reads
 *  every target: each must be an integer in 0..classes − 1). */
function checkClasses(targets: ArrayLike<number>, classes: number): void {
  for (let b = 0; b < targets.length; b++) {
    const t = targets[b]!;
    if (!Number.isInteger(t) || t < 0 || t >= classes) {
      throw new RangeError(\`target \${b} is \${t}, expected a class index in 0..\${classes - 1}\`);
    }
  }
}

/** Cross entropy of logits against class indices, mean over every position (PyTorch \`F.cross_entropy\`):
 *  the last axis of the output holds the ${classes} classes; each of the n × ${plan.output.size / classes} rows has one target. */
export function crossEntropyLoss(logits: ${F}, targets: ArrayLike<number>, n: number, grad?: ${F}): number {
  const classes = ${classes};
  checkRows("logits", logits, n, outputSize);
  const rows = logits.length / classes;
  checkTargets("targets", targets, rows);
  checkClasses(targets, classes);
  if (grad !== undefined) checkLossGrad(grad, rows * classes, logits, targets);
  let total = 0;
  for (let b = 0; b < rows; b++) {
    const t = targets[b]!;
    const o = b * classes;
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, logits[o + k]!);
    let s = 0;
    for (let k = 0; k < classes; k++) s += Math.exp(logits[o + k]! - m);
    const lse = m + Math.log(s);
    total += lse - logits[o + t]!;
    if (grad !== undefined) {
      for (let k = 0; k < classes; k++) grad[o + k] = (Math.exp(logits[o + k]! - lse) - (k === t ? 1 : 0)) / rows;
    }
  }
  return total / rows;
}

/** Binary cross entropy, mean over all elements: of probabilities (PyTorch \`F.binary_cross_entropy\`, logs
 *  clamped at -100) or, with \`fromLogits\`, of logits (\`F.binary_cross_entropy_with_logits\`). */
export function binaryCrossEntropyLoss(output: ${F}, target: ArrayLike<number>, n: number, grad?: ${F}, fromLogits = false): number {
  checkRows("output", output, n, outputSize);
  const count = output.length;
  checkTargets("target", target, count);
  if (grad !== undefined) checkLossGrad(grad, count, output, target);
  if (typeof fromLogits !== "boolean") throw new TypeError(\`fromLogits must be a boolean, got \${kindOf(fromLogits)}\`);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const y = output[i]!;
    const t = target[i]!;
    if (fromLogits) {
      sum += Math.max(y, 0) - y * t + Math.log1p(Math.exp(-Math.abs(y)));
      if (grad !== undefined) grad[i] = (1 / (1 + Math.exp(-y)) - t) / count;
    } else {
      sum -= t * Math.max(Math.log(y), -100) + (1 - t) * Math.max(Math.log(1 - y), -100);
      if (grad !== undefined) grad[i] = (y - t) / Math.max(y * (1 - y), 1e-12) / count;
    }
  }
  return sum / count;
}
`;
}

/** The training types, exported from the module's top. */
function trainingTypes(F: string, info: ModuleInfo): string {
  const loss = info.loss?.name;
  return `
// ── Training ────────────────────────────────────────────────────────────────────────────────────────

export type LossName = "mse" | "cross_entropy" | "binary_cross_entropy";

export interface TrainerOptions {
  /** \`sgd\` (PyTorch SGD: momentum, weight decay as L2), \`adam\` (weight decay as L2) or \`adamw\` (decoupled). */
  readonly optimizer: "sgd" | "adam" | "adamw";
  /** The learning rate, or a schedule: called before each step with the number of steps taken so far
   *  (0 for the first), it returns that step's rate. A trainer's \`lr\` can also be set between steps. */
  readonly lr: number | ((step: number) => number);
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** The loss; default: the spec's \`loss\` statement${loss ? ` (${loss})` : " (this spec states none)"}. */
  readonly loss?: LossName;
  /** Binary cross entropy on logits. */
  readonly fromLogits?: boolean;
  /** Seed of the initial parameters and of dropout masks. */
  readonly seed?: number;
  /** Clips the gradients' global L2 norm to at most this before each update (PyTorch
   *  \`clip_grad_norm_(params, maxNorm)\`: scaled by maxNorm / (norm + 1e-6) when that is below 1). */
  readonly clipGradNorm?: number;
}

export interface Trainer {
  readonly params: ${F};
  readonly grads: ${F};
  readonly buffers: ${F};
  readonly options: TrainerOptions;
  /** Optimizer state: momentum or first moments, second moments. */
  readonly m: ${F};
  readonly v: ${F};
  steps: number;
  /** The learning rate of the next step (a number > 0; with a schedule, its last value). */
  lr: number;
  /** The gradients' global L2 norm at the last step (before clipping). */
  gradNorm: number;
}

`;
}

function trainingSource(
  F: string,
  info: ModuleInfo,
  plan: Plan,
  inputType: string,
  variable: boolean,
  inputGradWanted: boolean,
  cutOutputs: readonly boolean[],
  seq: number | undefined,
  wasm: boolean,
  /** Whether the arena holds the optimizer's moments (target.ts hasMoments). */
  moments: boolean,
): string {
  const out = plan.output.shape;
  const classes = out.length === 0 ? 1 : out[out.length - 1]!;
  /** The first output is cut to the call's length (a shorter sequence gives a shorter output). */
  const cutFirst = variable && cutOutputs[0] === true;
  const firstRow = seq === undefined ? 0 : plan.output.size / seq;
  const backwardCall = `backward(trainer.params, ${
    plan.outputs.length === 1
      ? "grad"
      : `[grad, ${plan.outputs
          .slice(1)
          .map((_, k) => `zerosOf(result[${k + 1}].length)`)
          .join(", ")}]`
  }, trainer.grads);`;
  const loss = info.loss?.name;
  return `
// ── Training ────────────────────────────────────────────────────────────────────────────────────────

/** Checks one numeric option: a number (TypeError), finite and within its range (RangeError). */
function checkOption(what: string, value: unknown, inRange: (x: number) => boolean, rule: string): void {
  if (typeof value !== "number") throw new TypeError(\`\${what} must be a number, got \${typeof value}\`);
  if (!Number.isFinite(value) || !inRange(value)) throw new RangeError(\`\${what} must be \${rule}, got \${value}\`);
}

const optimizerNames: readonly string[] = ["sgd", "adam", "adamw"];
const lossNames: readonly string[] = ["mse", "cross_entropy", "binary_cross_entropy"];

/** Validates trainer options before anything changes. The ranges follow PyTorch's own checks in
 *  torch.optim.SGD / Adam / AdamW (ValueError for lr < 0, eps < 0, momentum < 0, weight_decay < 0, betas
 *  outside [0, 1)); nnc is stricter where the looser value never trains or breaks the arithmetic:
 *  lr = 0 (no update at all), eps = 0 (0 / 0 for a parameter whose gradient is 0), SGD momentum ≥ 1 (the
 *  momentum buffer sums a series that does not converge). */
function checkTrainerOptions(options: TrainerOptions): void {
  if (!optimizerNames.includes(options.optimizer)) {
    throw new TypeError(\`optimizer must be "sgd", "adam" or "adamw", got \${JSON.stringify(options.optimizer)}\`);
  }
  if (options.loss !== undefined && !lossNames.includes(options.loss)) {
    throw new TypeError(\`loss must be "mse", "cross_entropy" or "binary_cross_entropy", got \${JSON.stringify(options.loss)}\`);
  }
  if (typeof options.lr !== "function") checkOption("lr", options.lr, (x) => x > 0, "a finite number > 0");
  if (options.clipGradNorm !== undefined) checkOption("clipGradNorm", options.clipGradNorm, (x) => x > 0, "a finite number > 0");
  if (options.momentum !== undefined) checkOption("momentum", options.momentum, (x) => x >= 0 && x < 1, "in [0, 1)");
  if (options.weightDecay !== undefined) checkOption("weightDecay", options.weightDecay, (x) => x >= 0, "a finite number ≥ 0");
  if (options.beta1 !== undefined) checkOption("beta1", options.beta1, (x) => x >= 0 && x < 1, "in [0, 1)");
  if (options.beta2 !== undefined) checkOption("beta2", options.beta2, (x) => x >= 0 && x < 1, "in [0, 1)");
  if (options.eps !== undefined) checkOption("eps", options.eps, (x) => x > 0, "a finite number > 0");
  if (options.fromLogits !== undefined && typeof options.fromLogits !== "boolean") {
    throw new TypeError(\`fromLogits must be a boolean, got \${typeof options.fromLogits}\`);
  }
  if (options.seed !== undefined) checkSeed(options.seed);
${loss ? "" : `  if (options.loss === undefined) throw new RangeError("no loss: the spec states none, so pass options.loss");\n`}}

/** The learning rate of the next step: the schedule's value for it, or the trainer's \`lr\`; checked. */
function stepRate(trainer: Trainer): number {
  const schedule = trainer.options.lr;
  const lr: unknown = typeof schedule === "function" ? schedule(trainer.steps) : trainer.lr;
  checkOption(typeof schedule === "function" ? \`lr(\${trainer.steps})\` : "trainer.lr", lr, (x) => x > 0, "a finite number > 0");
  return lr as number;
}

/** A trainer: its options are validated (TypeError for an unknown optimizer or loss, RangeError for a
 *  number out of range) before anything changes, and copied, so later changes to \`options\` do not reach it.
 *  \`buffers\` (a model's running statistics) are used as they are; by default the trainer has its own. */
function createTrainer(options: TrainerOptions, params?: ${F}, buffers?: ${F}): Trainer {
  checkTrainerOptions(options);
  if (params !== undefined) {
    checkFloats("params", params, paramCount);
    if (inWorkspace(params)) throw new TypeError("params share memory with an array this module returned: copy them first");
  }
  if (buffers !== undefined) checkFloats("buffers", buffers, bufferCount);
  const own = params ?? createParams(options.seed ?? 0);
  seedRandom(options.seed ?? 0);
  const lr = options.lr;${
    wasm && !moments
      ? `
  const arena = arenaOf(own);`
      : ""
  }${
    moments
      ? `
  // The first trainer on an arena's parameters keeps its moments in the arena, where the update kernels
  // read them; any other gets arrays of its own (and the TypeScript update).
  const arena = arenaOf(own);
  const moments = arena !== undefined && !arena.momentsTaken ? arena : undefined;
  if (moments !== undefined) moments.momentsTaken = true;`
      : ""
  }
  return {
    params: own,
    grads: ${wasm ? `arena?.grads ?? new ${F}(paramCount)` : `new ${F}(paramCount)`},
    buffers: buffers ?? createBuffers(),
    options: Object.freeze({ ...options }),
    m: ${moments ? `moments?.m ?? new ${F}(paramCount)` : `new ${F}(paramCount)`},
    v: ${moments ? `options.optimizer === "sgd" ? new ${F}(0) : (moments?.v ?? new ${F}(paramCount))` : `new ${F}(options.optimizer === "sgd" ? 0 : paramCount)`},
    steps: 0,
    lr: typeof lr === "function" ? 0 : lr,
    gradNorm: 0,
  };
}

/** Ranges of trainable elements (frozen tensors are skipped; a tied tensor is updated once). */
const trainableRanges: readonly (readonly [number, number])[] = [${plan.params
    .filter((t) => t.trainable && !t.tiedTo)
    .map((t) => `[${t.offset}, ${t.offset + t.size}]`)
    .join(", ")}];

/** A trainer from \`createTrainer\`: its arrays of the right kind, length and separate, its options valid
 *  (they are frozen, but the trainer object itself is not). */
function checkTrainer(trainer: Trainer): void {
  if (typeof trainer !== "object" || trainer === null) throw new TypeError(\`trainer must be an object from createTrainer, got \${kindOf(trainer)}\`);
  checkTrainerOptions(trainer.options);
  const sgd = trainer.options.optimizer === "sgd";
  const arrays: [string, unknown, number][] = [
    ["trainer.params", trainer.params, paramCount],
    ["trainer.grads", trainer.grads, paramCount],
    ["trainer.buffers", trainer.buffers, bufferCount],
    ["trainer.m", trainer.m, paramCount],
    ["trainer.v", trainer.v, sgd ? 0 : paramCount],
  ];
  for (const [what, array, length] of arrays) checkFloats(what, array, length);
  for (let i = 0; i < arrays.length; i++) {
    for (let j = i + 1; j < arrays.length; j++) {
      if (sharesMemory(arrays[i]![1] as ${F}, arrays[j]![1] as ${F})) throw new TypeError(\`\${arrays[i]![0]} and \${arrays[j]![0]} share memory\`);
    }
    if (inWorkspace(arrays[i]![1] as ${F})) throw new TypeError(\`\${arrays[i]![0]} shares memory with an array this module returned\`);
  }
  if (!Number.isInteger(trainer.steps) || trainer.steps < 0) throw new RangeError(\`trainer.steps must be a whole number, got \${trainer.steps}\`);
}


/** One optimization step on a batch: forward (training mode), loss, backward, update. Returns the loss.
 *  The trainer, the targets (their kind, length and, for cross entropy, every class index) and the inputs
 *  are checked before anything changes: a step that throws has not touched the parameters, the optimizer
 *  state or the running statistics. */
function trainStep(trainer: Trainer, ${plan.inputs.length === 1 ? "input" : "inputs"}: ${inputType}, target: ArrayLike<number>, n: number${variable ? ", length?: number" : ""}): number {
  checkTrainer(trainer);
  checkBatch(n);
  const o = trainer.options;
  const lr = stepRate(trainer);
  const lossName = o.loss${loss ? ` ?? ${q(loss)}` : ""};${
    loss
      ? ""
      : `
  if (lossName === undefined) throw new RangeError("no loss: the spec states none, so pass options.loss");`
  }
  ${
    cutFirst
      ? `if (length !== undefined && (!Number.isInteger(length) || length < 1 || length > ${seq})) {
    throw new RangeError(\`sequence length \${length} is outside 1..${seq} (the declared maximum is ${seq})\`);
  }
  const outputLength = n * (length ?? ${seq}) * ${firstRow};`
      : `const outputLength = n * outputSize;`
  }
  if (lossName === "cross_entropy") {
    checkTargets("targets", target, outputLength / ${classes});
    checkClasses(target, ${classes});
  } else {
    checkTargets("target", target, outputLength);
  }
  const result = forward(trainer.params, ${plan.inputs.length === 1 ? "input" : "inputs"}, n, { training: true, buffers: trainer.buffers${variable ? ", ...(length !== undefined ? { length } : {})" : ""} });
  const output = result${plan.outputs.length === 1 ? "" : "[0]"};
  const grad = lossGrad(output.length);
  const loss =
    lossName === "mse"
      ? mseLoss(output, target, n, grad)
      : lossName === "cross_entropy"
        ? crossEntropyLoss(output, target, n, grad)
        : binaryCrossEntropyLoss(output, target, n, grad, o.fromLogits ?? ${info.loss?.logits ?? false});
  ${
    inputGradWanted
      ? `// Nothing reads the gradient of the input here: the kernels that can skip that work do.
  inputGradWanted = false;
  try {
    ${backwardCall}
  } finally {
    inputGradWanted = true;
  }`
      : backwardCall
  }
  trainer.steps++;
  trainer.lr = lr;
  const p = trainer.params;
  const g = trainer.grads;${
    wasm
      ? `
  // Parameters and gradients in the arena: clipping and the update on the SIMD kernels.
  const arena = arenaOf(p);
  const resident = arena !== undefined && ownGrads(arena, g) ? arena : undefined;
  trainer.gradNorm =
    resident !== undefined
      ? wasmClipGradients(resident, o.clipGradNorm ?? Infinity)
      : clipGradients(g, trainableRanges, o.clipGradNorm ?? Infinity);`
      : `
  trainer.gradNorm = clipGradients(g, trainableRanges, o.clipGradNorm ?? Infinity);`
  }
  const wd = o.weightDecay ?? 0;${
    wasm
      ? `
  if (resident !== undefined && (${moments ? "trainer.m === resident.m || " : ""}(o.optimizer === "sgd" && (o.momentum ?? 0) === 0))) {
    wasmUpdate(resident, ${moments ? "trainer, " : ""}lr, wd);
  } else if (o.optimizer === "sgd") {`
      : `
  if (o.optimizer === "sgd") {`
  }
    const mu = o.momentum ?? 0;
    for (const [from, to] of trainableRanges) {
      for (let i = from; i < to; i++) {
        let d = g[i]! + wd * p[i]!;
        if (mu !== 0) {
          const buf = trainer.steps === 1 ? d : mu * trainer.m[i]! + d;
          trainer.m[i] = buf;
          d = buf;
        }
        p[i] = p[i]! - lr * d;
      }
    }
  } else {
    const b1 = o.beta1 ?? 0.9;
    const b2 = o.beta2 ?? 0.999;
    const eps = o.eps ?? 1e-8;
    const c1 = 1 - Math.pow(b1, trainer.steps);
    const c2 = 1 - Math.pow(b2, trainer.steps);
    const decoupled = o.optimizer === "adamw";
    for (const [from, to] of trainableRanges) {
      for (let i = from; i < to; i++) {
        if (decoupled) p[i] = p[i]! * (1 - lr * wd);
        const d = decoupled ? g[i]! : g[i]! + wd * p[i]!;
        const m = b1 * trainer.m[i]! + (1 - b1) * d;
        const v = b2 * trainer.v[i]! + (1 - b2) * d * d;
        trainer.m[i] = m;
        trainer.v[i] = v;
        p[i] = p[i]! - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
      }
    }
  }
  return loss;
}

${wasm ? wasmUpdateSource(F, moments) : ""}let lossGradArray = new ${F}(0);
${
  plan.outputs.length > 1
    ? `
/** Zero gradients for the outputs the loss does not use (cached by length). */
const zeroArrays = new Map<number, ${F}>();
function zerosOf(length: number): ${F} {
  let z = zeroArrays.get(length);
  if (z === undefined) {
    z = new ${F}(length);
    zeroArrays.set(length, z);
  }
  return z;
}`
    : ""
}

function lossGrad(length: number): ${F} {
  if (lossGradArray.length !== length) lossGradArray = new ${F}(length);
  return lossGradArray;
}
`;
}

/** The training step's update on the SIMD kernels (src/emit/wasm/optimizer.ts), one call per range of
 *  trainable elements: the TypeScript loops' operations in their order, in double precision, so the
 *  parameters and moments stored are the TypeScript path's bit for bit. Byte addresses in the arena. Without
 *  the moments in the arena (target.ts hasMoments), plain SGD only. */
function wasmUpdateSource(F: string, moments: boolean): string {
  const elt = F === "Float64Array" ? 8 : 4;
  const clip = `/** clipGradients on the SIMD kernels: the same partial sums in the same order (sumSquares, into the
 *  arena's four doubles \`sums\`), the same norm and coefficient, the same scaling. */
function wasmClipGradients(a: Arena, maxNorm: number): number {
  const G = a.grads.byteOffset;
  const sums = a.sums;
  sums.fill(0);
  for (const [from, to] of trainableRanges) a.updates.sumSquares(G + from * ${elt}, to - from, sums.byteOffset);
  const norm = Math.sqrt(sums[0]! + sums[2]! + (sums[1]! + sums[3]!));
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient < 1) {
    for (const [from, to] of trainableRanges) a.updates.scale(G + from * ${elt}, to - from, coefficient);
  }
  return norm;
}

`;
  if (!moments) {
    return `${clip}/** Plain SGD's update of \`trainStep\` on the SIMD kernel, over the arena's parameters and gradients. */
function wasmUpdate(a: Arena, lr: number, wd: number): void {
  const G = a.grads.byteOffset;
  for (const [from, to] of trainableRanges) {
    const at = from * ${elt};
    a.updates.sgd(at, G + at, to - from, lr, wd);
  }
}

`;
  }
  return `${clip}/** The update of \`trainStep\` on the SIMD kernels, over the arena's parameters, gradients and moments. */
function wasmUpdate(a: Arena, trainer: Trainer, lr: number, wd: number): void {
  const o = trainer.options;
  const u = a.updates;
  const G = a.grads.byteOffset;
  const M = a.m.byteOffset;
  const V = a.v.byteOffset;
  if (o.optimizer === "sgd") {
    const mu = o.momentum ?? 0;
    for (const [from, to] of trainableRanges) {
      const at = from * ${elt};
      if (mu === 0) u.sgd(at, G + at, to - from, lr, wd);
      else if (trainer.steps === 1) u.sgdMomentumFirst(at, G + at, M + at, to - from, lr, wd);
      else u.sgdMomentum(at, G + at, M + at, to - from, lr, wd, mu);
    }
  } else {
    const b1 = o.beta1 ?? 0.9;
    const b2 = o.beta2 ?? 0.999;
    const eps = o.eps ?? 1e-8;
    const c1 = 1 - Math.pow(b1, trainer.steps);
    const c2 = 1 - Math.pow(b2, trainer.steps);
    const decoupled = o.optimizer === "adamw";
    const kernel = decoupled ? u.adamw : u.adam;
    // AdamW scales the parameter by 1 − lr·wd; Adam adds wd·p to the gradient.
    const decay = decoupled ? 1 - lr * wd : wd;
    for (const [from, to] of trainableRanges) {
      const at = from * ${elt};
      kernel(at, G + at, M + at, V + at, to - from, lr, decay, b1, 1 - b1, b2, 1 - b2, c1, c2, eps);
    }
  }
}

`;
}
