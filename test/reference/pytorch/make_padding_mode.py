"""Reference for nnc's `padding_mode` on convolutions (PyTorch's `nn.Conv1d/2d/3d(padding_mode=…)`): PyTorch
1.13, float64 autograd.

Run with PyTorch (1.13 made the committed file):  python3 make_padding_mode.py > padding_mode.json

Each case is one convolution (`layer`, as nnc writes it, and the `torch` module built with the same
arguments) on a batch of 2 inputs of `shape` per sample: `reflect`, `replicate` and `circular`, with
symmetric, per-axis and `same` padding (an even kernel: the odd cell after), strides, dilation and groups,
few output channels (nnc's direct loops) and many (its im2col product). Parameters are multiples of 2^-12,
inputs of 2^-8; `y` is the flattened output, `gy` the upstream gradient given to backward, `grads` the
weight and bias gradients and `gx` the input gradient.
"""
import json

import torch
import torch.nn as nn

torch.manual_seed(32)
torch.set_default_dtype(torch.float64)

CASES = [
    ("conv1d(3, 3, padding = 2, padding_mode = reflect)", [2, 5], lambda: nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect")),
    ("conv1d(4, 3, padding = 1, padding_mode = circular)", [2, 6], lambda: nn.Conv1d(2, 4, 3, padding=1, padding_mode="circular")),
    ("conv1d(2, 4, padding = same, padding_mode = replicate)", [3, 5], lambda: nn.Conv1d(3, 2, 4, padding="same", padding_mode="replicate")),
    ("conv2d(2, 3, padding = [1, 2], padding_mode = reflect)", [2, 4, 5], lambda: nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode="reflect")),
    ("conv2d(5, 3, stride = 2, padding = 1, padding_mode = replicate)", [2, 5, 5], lambda: nn.Conv2d(2, 5, 3, stride=2, padding=1, padding_mode="replicate")),
    ("conv2d(4, 2, padding = same, dilation = 2, padding_mode = circular)", [2, 4, 4], lambda: nn.Conv2d(2, 4, 2, padding="same", dilation=2, padding_mode="circular")),
    ("conv2d(4, 3, padding = 2, groups = 4, bias = false, padding_mode = circular)", [4, 3, 4], lambda: nn.Conv2d(4, 4, 3, padding=2, groups=4, bias=False, padding_mode="circular")),
    ("conv2d(6, 3, padding = same, padding_mode = reflect)", [3, 4, 4], lambda: nn.Conv2d(3, 6, 3, padding="same", padding_mode="reflect")),
    ("conv3d(2, 3, padding = 1, padding_mode = reflect)", [2, 3, 3, 4], lambda: nn.Conv3d(2, 2, 3, padding=1, padding_mode="reflect")),
    ("conv3d(4, [1, 3, 3], padding = [0, 1, 2], padding_mode = replicate)", [1, 2, 3, 3], lambda: nn.Conv3d(1, 4, (1, 3, 3), padding=(0, 1, 2), padding_mode="replicate")),
]


def grid(t, step):
    return torch.round(t / step) * step


def tensor(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().flatten().tolist()}


out = []
for layer, shape, make in CASES:
    m = make()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(grid(p, 2.0**-12))
    x = grid(torch.randn(2, *shape), 2.0**-8).requires_grad_(True)
    y = m(x)
    gy = grid(torch.randn_like(y), 2.0**-8)
    y.backward(gy)
    out.append(
        {
            "layer": layer,
            "shape": shape,
            "params": [tensor(f"0.{k}", v) for k, v in m.named_parameters()],
            "x": x.detach().flatten().tolist(),
            "y_shape": list(y.shape[1:]),
            "y": y.detach().flatten().tolist(),
            "gy": gy.flatten().tolist(),
            "grads": [tensor(f"0.{k}", v.grad) for k, v in m.named_parameters()],
            "gx": x.grad.flatten().tolist(),
        }
    )

# PyTorch's own refusals, as nnc reports them (NN4032, NN4002): the message each raises.
refusals = []
for what, make, shape in [
    ("reflect, padding = size", lambda: nn.Conv1d(1, 1, 3, padding=4, padding_mode="reflect"), [1, 4]),
    ("circular, padding > size", lambda: nn.Conv1d(1, 1, 3, padding=5, padding_mode="circular"), [1, 4]),
]:
    try:
        make()(torch.randn(1, *shape))
        refusals.append({"case": what, "raised": None})
    except Exception as e:  # noqa: BLE001 - the message is what is recorded
        refusals.append({"case": what, "raised": str(e).splitlines()[0]})
try:
    nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    refusals.append({"case": "transposed reflect", "raised": None})
except Exception as e:  # noqa: BLE001
    refusals.append({"case": "transposed reflect", "raised": str(e)})

print(json.dumps({"torch": torch.__version__, "cases": out, "refusals": refusals}))
