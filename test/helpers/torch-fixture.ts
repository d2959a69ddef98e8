// The shapes of the PyTorch fixtures (test/reference/pytorch/*.json, written by the make_*.py scripts beside
// them with torch 1.13, float64 autograd), as the tests read them.

/** A tensor as the fixture scripts write it: its state_dict (or input) name, shape and values, row-major. */
export interface NamedTensor {
  readonly name: string;
  readonly shape: number[];
  readonly data: number[];
}

/** One case of the attention fixtures with one or more inputs (make_attention_cross.py,
 *  make_attention_bias_kv.py, make_attention_kbias.py): the spec, PyTorch's parameter count, its tensors,
 *  the inputs (a call of `length` positions when padded), the output, the output gradient given, and the
 *  parameters' and inputs' gradients autograd computed. */
export interface AttentionCase {
  readonly name: string;
  readonly spec: string;
  readonly count: number;
  readonly length?: number;
  readonly params: NamedTensor[];
  readonly inputs: NamedTensor[];
  readonly outputs: NamedTensor;
  readonly gy: NamedTensor;
  readonly param_grads: NamedTensor[];
  readonly input_grads: NamedTensor[];
}
