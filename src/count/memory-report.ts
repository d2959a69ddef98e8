// The memory section of `nnc count --batch N` (memory.ts computes it): text, Markdown and JSON. Every figure
// is exact bytes, every sum shows its terms, and each figure says which convention it follows.
import { grouped, humanBytes } from "../diagnostics/numbers.js";
import type { ModelMemory, Optimizer, Sum } from "./memory.js";
import type { CountMemory } from "./report-types.js";

const optimizerLabels: Readonly<Record<Optimizer, string>> = {
  adam: "Adam",
  "sgd-momentum": "SGD with momentum",
  sgd: "SGD",
};

/** `batch 8, seq = 128`. */
function at(mem: ModelMemory, dims?: ReadonlyMap<string, bigint>): string {
  const set = [...(dims ?? [])].map(([name, v]) => `${name} = ${grouped(v)}`);
  return [`batch ${grouped(mem.batch)}`, ...set].join(", ");
}

function sumLines(label: string, s: Sum, indent: string): string[] {
  const width = Math.max(...s.terms.map((t) => t.name.length));
  return [
    `${indent}${label}: ${humanBytes(s.total)}`,
    ...s.terms.map((t) => `${indent}  ${t.name.padEnd(width)}  ${humanBytes(t.bytes)}`),
  ];
}

export function memoryText(mem: ModelMemory, dims?: ReadonlyMap<string, bigint>): string[] {
  const out = [`memory at ${at(mem, dims)} (exact bytes)`];
  out.push(
    `  generated module (\`nnc build --dtype ${mem.dtype}\`): the arrays it allocates, ${mem.elementBytes} bytes per float`,
  );
  out.push(...sumLines("activations kept for backward", mem.module.activations, "    "));
  out.push(...sumLines("inference peak (a --bake-weights build holds all of it)", mem.module.inference, "    "));
  out.push(...sumLines("training with Adam (createTrainer + trainStep)", mem.module.training.adam, "    "));
  out.push(
    `    training with SGD, with or without momentum: ${humanBytes(mem.module.training.sgd.total)} (one optimizer array, m, instead of two)`,
  );
  out.push("  PyTorch eager (fp32, training mode, CPU): what autograd saves for backward, and the optimizer's state");
  if (mem.eager.activations === undefined || mem.eager.training === undefined) {
    out.push(
      `    not estimated: the saved tensors of ${mem.eager.unknownKinds.map((k) => `\`${k}\``).join(", ")} are not measured (scripts/torch-saved-tensors.py)`,
    );
  } else {
    out.push(`    saved activations: ${humanBytes(mem.eager.activations)}`);
    out.push(...sumLines("training with Adam", mem.eager.training.adam, "    "));
    for (const o of ["sgd-momentum", "sgd"] as const) {
      const t = mem.eager.training[o];
      const state = t.terms.find((x) => x.name.startsWith("optimizer state"))!;
      out.push(
        `    training with ${optimizerLabels[o]}: ${humanBytes(t.total)} (${state.name} ${grouped(state.bytes)} bytes)`,
      );
    }
  }
  out.push(...eagerInferenceText(mem));
  return out;
}

const eagerPeakLabel =
  "PyTorch eager inference peak (fp32, eval mode, torch.no_grad(), CPU, one thread, as c10's allocator sees it): parameters, buffers and the most activations alive at once";

/** The convention of the eager inference peak of a model with convolutions PyTorch's default dispatch
 *  sends to oneDNN: oneDNN disabled, every convolution on ATen's own kernels. */
export const oneDnnOffConvention = "oneDNN off (torch.backends.mkldnn.enabled = False)";

const eagerPeakOneDnnOffLabel = `PyTorch eager inference peak (fp32, eval mode, torch.no_grad(), CPU, one thread, as c10's allocator sees it, ${oneDnnOffConvention}): parameters, buffers and the most activations alive at once`;

/** What the oneDNN-off figure leaves out: the blocked copies of the convolutions oneDNN would run. */
const oneDnnOnNote = (mem: ModelMemory, kinds: readonly string[]) =>
  `with oneDNN on (PyTorch's default on x86), PyTorch 1.13 runs ${codes(kinds)} on oneDNN at batch ${grouped(mem.batch)}, and each such convolution also holds blocked copies laid out per CPU, not included`;

/** The kinds that leave the eager inference peak unestimated, in two groups: convolutions PyTorch sends to
 *  oneDNN at this batch (named `conv2d (oneDNN)`), and kinds whose temporaries are not measured. */
function inferenceUnknown(mem: ModelMemory): { readonly oneDnn: string[]; readonly unmeasured: string[] } {
  const kinds = mem.eager.inferenceUnknownKinds;
  const suffix = " (oneDNN)";
  return {
    oneDnn: kinds.filter((k) => k.endsWith(suffix)).map((k) => k.slice(0, -suffix.length)),
    unmeasured: kinds.filter((k) => !k.endsWith(suffix)),
  };
}

const codes = (kinds: readonly string[]) => kinds.map((k) => `\`${k}\``).join(", ");

function eagerInferenceText(mem: ModelMemory): string[] {
  if (mem.eager.inference === undefined) {
    const { oneDnn, unmeasured } = inferenceUnknown(mem);
    return [
      `  ${eagerPeakLabel}`,
      ...(oneDnn.length > 0
        ? [
            `    not estimated: PyTorch 1.13 runs ${codes(oneDnn)} on oneDNN at batch ${grouped(mem.batch)}, whose blocked copies and buffers are laid out per CPU (only convolutions on ATen's own kernels are estimated)`,
          ]
        : []),
      ...(unmeasured.length > 0
        ? [
            `    not estimated: the temporaries of ${codes(unmeasured)} are not measured (scripts/torch-saved-tensors.py)`,
          ]
        : []),
    ];
  }
  const kinds = mem.eager.inferenceOneDnnKinds;
  if (kinds !== undefined)
    return [...sumLines(eagerPeakOneDnnOffLabel, mem.eager.inference, "  "), `    ${oneDnnOnNote(mem, kinds)}`];
  return sumLines(eagerPeakLabel, mem.eager.inference, "  ");
}

export function memoryMarkdown(mem: ModelMemory, dims?: ReadonlyMap<string, bigint>): string[] {
  const out = [
    `Memory at ${at(mem, dims)}, exact bytes:`,
    "",
    "| convention | figure | term | bytes |",
    "|---|---|---|--:|",
  ];
  const rows = (convention: string, label: string, s: Sum) => {
    out.push(`| ${convention} | ${label} | **total** | ${grouped(s.total)} |`);
    for (const t of s.terms) out.push(`| | | ${t.name} | ${grouped(t.bytes)} |`);
  };
  const module = `generated module (${mem.dtype})`;
  rows(module, "activations kept for backward", mem.module.activations);
  rows(module, "inference peak", mem.module.inference);
  for (const o of ["adam", "sgd-momentum", "sgd"] as const)
    rows(module, `training, ${optimizerLabels[o]}`, mem.module.training[o]);
  const eager = "PyTorch eager (fp32, CPU)";
  if (mem.eager.activations === undefined || mem.eager.training === undefined) {
    out.push(
      `| ${eager} | not estimated | ${mem.eager.unknownKinds.map((k) => `\`${k}\``).join(", ")} not measured | |`,
    );
  } else {
    out.push(`| ${eager} | saved activations | **total** | ${grouped(mem.eager.activations)} |`);
    for (const o of ["adam", "sgd-momentum", "sgd"] as const)
      rows(eager, `training, ${optimizerLabels[o]}`, mem.eager.training[o]);
  }
  const eagerEval = "PyTorch eager (fp32, eval, no_grad, CPU)";
  if (mem.eager.inference === undefined) {
    const { oneDnn, unmeasured } = inferenceUnknown(mem);
    const why = [
      ...(oneDnn.length > 0 ? [`${codes(oneDnn)} on oneDNN (laid out per CPU)`] : []),
      ...(unmeasured.length > 0 ? [`${codes(unmeasured)} not measured`] : []),
    ];
    out.push(`| ${eagerEval} | inference peak: not estimated | ${why.join("; ")} | |`);
  } else if (mem.eager.inferenceOneDnnKinds !== undefined) {
    rows(`PyTorch eager (fp32, eval, no_grad, CPU, ${oneDnnOffConvention})`, "inference peak", mem.eager.inference);
    out.push(`| | | ${oneDnnOnNote(mem, mem.eager.inferenceOneDnnKinds)} | |`);
  } else rows(eagerEval, "inference peak", mem.eager.inference);
  return out;
}

export function memoryJson(mem: ModelMemory, dims?: ReadonlyMap<string, bigint>): CountMemory {
  const sum = (s: Sum) => ({ total: s.total, terms: s.terms.map((t) => ({ name: t.name, bytes: t.bytes })) });
  const training = (t: Readonly<Record<Optimizer, Sum>>) => ({
    adam: sum(t.adam),
    sgdMomentum: sum(t["sgd-momentum"]),
    sgd: sum(t.sgd),
  });
  return {
    batch: mem.batch,
    dims: Object.fromEntries(dims ?? []),
    dtype: mem.dtype,
    module: {
      activations: sum(mem.module.activations),
      inference: sum(mem.module.inference),
      training: training(mem.module.training),
    },
    eager: {
      ...(mem.eager.activations !== undefined ? { activations: mem.eager.activations } : {}),
      ...(mem.eager.training !== undefined ? { training: training(mem.eager.training) } : {}),
      unknownKinds: mem.eager.unknownKinds,
      ...(mem.eager.inference !== undefined
        ? {
            inference: {
              ...sum(mem.eager.inference),
              ...(mem.eager.inferenceOneDnnKinds !== undefined
                ? {
                    onednn: false as const,
                    convention: oneDnnOffConvention,
                    oneDnnKinds: mem.eager.inferenceOneDnnKinds,
                  }
                : {}),
            },
          }
        : {}),
      inferenceUnknownKinds: mem.eager.inferenceUnknownKinds,
    },
  };
}
