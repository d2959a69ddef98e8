"""Reference vectors for nnc's `hardswish` and `hardsigmoid` (alias of `hard_sigmoid`): forward values and
input gradients from PyTorch's autograd in float64, at points that include both kinks (x = -3 and x = 3).

Run with PyTorch (1.13 made the committed file):  python3 make_activations.py > activations.json

Definitions (PyTorch docs, torch.nn.Hardswish and torch.nn.Hardsigmoid):
  Hardswish(x)   = 0 if x <= -3, x if x >= 3, x * (x + 3) / 6 otherwise
  Hardsigmoid(x) = 0 if x <= -3, 1 if x >= 3, x / 6 + 1 / 2 otherwise
Gradients are autograd's (aten hardswish_backward, hardsigmoid_backward): hardswish's is x / 3 + 1/2 on the
closed interval [-3, 3]; hardsigmoid's is 1/6 strictly inside (-3, 3).
"""
import json

import torch

# Multiples of 2^-8 (exact in float32 and float64), both kinks and their neighbours.
xs = [-6.0, -4.0, -3.00390625, -3.0, -2.99609375, -2.5, -1.0, -0.25, 0.0, 0.5, 1.25, 2.99609375, 3.0,
      3.00390625, 4.0, 5.5]
# An upstream gradient that is not all ones, so the test checks a product, not just the derivative.
gys = [0.5 + 0.125 * i for i in range(len(xs))]


def one_at_a_time(fn, x, gy):
    """fn and its input gradient at one point, as a 1-element tensor: PyTorch's CPU kernels take their scalar
    path for it, which is the documented definition (and the CUDA kernel's). Their vectorized path (4
    doubles at a time, AVX2) differs at one kink in 1.13: hardswish_backward at x = 3 gives g there (it
    tests x >= 3 first) where the scalar and CUDA paths give 3g/2 (x <= 3 first); recorded below."""
    t = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    y = fn(t)
    y.backward(torch.tensor([gy], dtype=torch.float64))
    return y.item(), t.grad.item()


out = {"torch": torch.__version__, "x": xs, "gy": gys}
for name, fn in [("hardswish", torch.nn.functional.hardswish), ("hardsigmoid", torch.nn.functional.hardsigmoid)]:
    pairs = [one_at_a_time(fn, x, gy) for x, gy in zip(xs, gys)]
    out[name] = {"y": [y for y, _ in pairs], "gx": [g for _, g in pairs]}
    # The same points as one 16-element tensor (the vectorized path): where it disagrees.
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    fn(t).backward(torch.tensor(gys, dtype=torch.float64))
    out[name]["vectorized_path_differs"] = [
        {"x": x, "gx_scalar": g, "gx_vectorized": v}
        for x, g, v in zip(xs, out[name]["gx"], t.grad.tolist())
        if g != v
    ]
print(json.dumps(out, indent=1))
