// The report of `nnc verify` as a value: what `--format json` prints (counts as exact `bigint`s). Plain types,
// with no import but the dtype names, because they are part of the public API's declarations (src/index.ts).
import type { Dtype } from "./safetensors.js";

export interface VerifyMissing {
  readonly name: string;
  readonly shape: readonly bigint[];
  readonly role: "matrix" | "embedding" | "normScale" | "bias" | "normShift" | "other" | "buffer";
}

export interface VerifyUnexpected {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
}

export interface VerifyShapeMismatch {
  readonly name: string;
  readonly expected: readonly bigint[];
  readonly found: readonly number[];
  readonly transposed: boolean;
}

export interface VerifyDtypeMismatch {
  readonly name: string;
  readonly expected: string;
  readonly found: Dtype;
}

export interface VerifyTie {
  /** The tensor that shares another's storage (`lm_head.weight`), and the one it shares (`wte.weight`). */
  readonly tensor: string;
  readonly target: string;
  readonly transposed: boolean;
  /** `once`: one of the two names is stored (`as` says which); `twice`: both; `missing`: neither. */
  readonly stored: "once" | "twice" | "missing";
  readonly as?: string;
  /** Stored twice: whether the copies hold the same values (`undefined` when they could not be compared). */
  readonly equal?: boolean;
}

export interface VerifyNonFinite {
  readonly name: string;
  readonly nan: number;
  readonly infinite: number;
}

export interface VerifyReport {
  readonly model: string;
  /** No mismatch: `load_state_dict(strict=True)` would accept the checkpoint (with `prefix` stripped when
   *  it was given), and no value is NaN or infinite. */
  readonly match: boolean;
  /** The prefix stripped from checkpoint names: given (`--prefix`) or found. */
  readonly prefix?: { readonly value: string; readonly given: boolean };
  readonly spec: { readonly tensors: bigint; readonly parameters: bigint; readonly buffers: bigint };
  readonly checkpoint: {
    readonly tensors: number;
    /** Elements of every tensor in the file. */
    readonly elements: bigint;
    /** Elements as the spec counts parameters: tensors matched to parameters (a tie stored twice once) and
     *  unexpected tensors not named like buffers. */
    readonly parameters: bigint;
    /** Elements of buffers: matched to the model's buffers, or unexpected and named like BatchNorm's. */
    readonly buffers: bigint;
    /** Tensors per dtype. */
    readonly dtypes: Readonly<Record<string, number>>;
    readonly metadata?: Readonly<Record<string, string>>;
  };
  /** Checkpoint tensors matched to a tensor of the model (whatever their shape or dtype). */
  readonly matched: number;
  readonly missing: readonly VerifyMissing[];
  /** Missing tensors beyond those listed in `missing`. */
  readonly missingNotListed: bigint;
  readonly unexpected: readonly VerifyUnexpected[];
  readonly shapeMismatches: readonly VerifyShapeMismatch[];
  readonly dtypeMismatches: readonly VerifyDtypeMismatch[];
  readonly ties: readonly VerifyTie[];
  readonly nonFinite: readonly VerifyNonFinite[];
}
