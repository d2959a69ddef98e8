// The `nnc count` report as a value: what `--format json` prints, with every count an exact `bigint`
// (the JSON writes them as exact integer digits; schema.ts is the JSON's schema). Plain types with no
// imports (but the graph's, which have none either), because they are part of the public API's
// declarations (src/index.ts).
import type { GraphEdge, GraphNode } from "./graph-types.js";

/** Parameters by role; weights = matrix + embedding + normScale + other, biases = bias + normShift. */
export interface CountRoles {
  readonly matrix: bigint;
  readonly embedding: bigint;
  readonly normScale: bigint;
  readonly bias: bigint;
  readonly normShift: bigint;
  readonly other: bigint;
}

export interface CountedLayer {
  readonly name: string;
  readonly kind: string;
  /** 1 for the model's own layers, deeper inside blocks and repeats. */
  readonly depth: number;
  /** Shapes (per sample) of the values the row reads from outside it. Symbolic sizes at the analyzed size. */
  readonly inputShapes: readonly (readonly bigint[])[];
  /** The shape of its (first) output, per sample. Schema 1 had the text form here (now `outputShapeText`). */
  readonly outputShape: readonly bigint[];
  /** Every output's shape (a `split` has several). */
  readonly outputShapes: readonly (readonly bigint[])[];
  /** The output as the text report writes it, symbols included (`[seq≤1024, 768]`). */
  readonly outputShapeText: string;
  /** The row's own tensors (a layer's), by their name within it. */
  readonly tensorShapes: readonly { readonly name: string; readonly shape: readonly bigint[] }[];
  /** Copies of this row (repeat count, experts) relative to its parent row. */
  readonly count: bigint;
  /** Copies of this row in the whole model. */
  readonly copiesInModel: bigint;
  /** Parameters of one copy of the row, by role and in total. */
  readonly parameters: CountRoles & { readonly total: bigint; readonly weights: bigint; readonly biases: bigint };
  readonly trainable: bigint;
  readonly nonTrainable: bigint;
  readonly buffers: bigint;
  /** Multiply–accumulates of one copy, one sample. */
  readonly macs: bigint;
  /** With `--batch`: bytes one copy of the row keeps for backward in the generated module. */
  readonly activationBytes?: bigint;
  readonly convention?: string;
}

/** A figure in bytes with every term it sums. */
export interface CountSum {
  readonly total: bigint;
  readonly terms: readonly { readonly name: string; readonly bytes: bigint }[];
}

export interface CountTraining {
  readonly adam: CountSum;
  readonly sgdMomentum: CountSum;
  readonly sgd: CountSum;
}

/** Memory at a batch size (`nnc count --batch`), exact bytes, in two conventions. */
export interface CountMemory {
  readonly batch: bigint;
  /** Symbolic dimensions set by `--length` / `--dim`. */
  readonly dims: Readonly<Record<string, bigint>>;
  /** The generated module's storage dtype. */
  readonly dtype: "float32" | "float64";
  /** What the generated module allocates. */
  readonly module: {
    readonly activations: CountSum;
    readonly inference: CountSum;
    readonly training: CountTraining;
  };
  /** PyTorch eager, fp32: autograd's saved tensors; absent when some op kind is not measured. */
  readonly eager: {
    readonly activations?: bigint;
    readonly training?: CountTraining;
    readonly unknownKinds: readonly string[];
    /** Inference peak (eval, no_grad): parameters + buffers + activations alive at the peak; absent when
     *  some op kind's temporaries are not measured (named in `inferenceUnknownKinds`). With convolutions
     *  PyTorch's default dispatch sends to oneDNN, the figure with oneDNN disabled: `onednn: false`, the
     *  `convention` in words and the kinds oneDNN would run (`oneDnnKinds`, as `conv2d`). */
    readonly inference?: CountSum & {
      readonly onednn?: false;
      readonly convention?: string;
      readonly oneDnnKinds?: readonly string[];
    };
    readonly inferenceUnknownKinds: readonly string[];
  };
}

export interface CountedTensor {
  /** PyTorch `state_dict` name. */
  readonly name: string;
  readonly shape: readonly bigint[];
  readonly role: "matrix" | "embedding" | "normScale" | "bias" | "normShift" | "other" | "buffer";
  readonly copies: bigint;
  readonly trainable: boolean;
  readonly tiedTo?: string;
}

export interface CountedTie {
  readonly tensor: string;
  readonly target: string;
  readonly shape: readonly bigint[];
  readonly transposed: boolean;
  /** Elements that counting the tie twice would add. */
  readonly elements: bigint;
}

/** Exact bytes: parameters at fp32/bf16/int8/int4, buffers, and training with Adam in fp32. */
export interface CountBytes {
  readonly fp32: bigint;
  readonly bf16: bigint;
  readonly int8: bigint;
  readonly int4: bigint;
  /** Buffers at their own element sizes (float buffers as fp32). */
  readonly buffers: bigint;
  /** Adam training state in fp32: fp32 weights + gradients + two moments per trainable parameter, 4 bytes
   *  per frozen one, plus buffers. */
  readonly trainingAdam: bigint;
}

export interface CountedModelReport {
  readonly name: string;
  readonly file: string;
  readonly inputs: readonly { readonly name: string; readonly shape: string; readonly dtype: string }[];
  readonly total: bigint;
  readonly weights: bigint;
  readonly biases: bigint;
  readonly trainable: bigint;
  readonly nonTrainable: bigint;
  readonly buffers: bigint;
  readonly activeParams: bigint;
  readonly roles: CountRoles;
  readonly tied: readonly CountedTie[];
  readonly totalIfTiesCountedTwice: bigint;
  readonly macs: bigint;
  readonly flops: bigint;
  readonly bytes: CountBytes;
  readonly conventions: readonly string[];
  readonly layers: readonly CountedLayer[];
  readonly tensors: readonly CountedTensor[];
  /** The model as a graph at the report's depth (what `nnc graph --depth` draws): nodes (the rows of
   *  `layers` that are not opened, inputs, outputs, elementwise ops, and the opened blocks and repeats
   *  as clusters) and the edges between them. Added in 0.1 (README, "nnc graph"). */
  readonly graph: { readonly nodes: readonly GraphNode[]; readonly edges: readonly GraphEdge[] };
  /** With `--batch`. */
  readonly memory?: CountMemory;
}

export interface CountReport {
  /** The schema's version (src/count/schema-version.ts). */
  readonly schemaVersion: number;
  readonly models: readonly CountedModelReport[];
  /** The counting conventions, as printed with every report. */
  readonly conventions: readonly string[];
}
