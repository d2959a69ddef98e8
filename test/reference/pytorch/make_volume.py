"""Reference for nnc's issue-14 kinds: conv3d, conv_transpose1d, max/avg/adaptive_avg_pool3d, batchnorm on
[C, D, H, W] (nn.BatchNorm3d) and upsample (nearest, bilinear with align_corners), float64 autograd.

Run with PyTorch (1.13, /usr/bin/python3 here, made the committed file):  python3 make_volume.py > volume.json

Each case is one torch.nn module and the nnc layer call that stands for it. Parameters are seeded multiples
of 2^-12 and inputs multiples of 2^-8 (exact in float32 too); `g` is a seeded upstream gradient, and the
gradients are those of L = sum(g * module(x)) with respect to the parameters (`param_grads`, by state_dict
name) and the input (`input_grad`). BatchNorm cases run in training mode (batch statistics, running
statistics updated: `buffers_after`) or in eval mode (`train: false`, running statistics moved away from
their initial values first).
"""
import json

import torch

torch.manual_seed(0)
nn = torch.nn


def grid(shape, scale):
    return (torch.randint(-256, 257, shape, dtype=torch.int64).double() / scale)


CASES = [
    # name, nnc layer, per-sample input shape, batch, module, train
    ("conv3d(4, 3, padding = 1)", [2, 4, 5, 3], 2, lambda: nn.Conv3d(2, 4, 3, padding=1), True),
    ("conv3d(2, [2, 3, 2], stride = [1, 2, 2], padding = [1, 0, 1], dilation = [2, 1, 1], groups = 2)",
     [2, 5, 6, 5], 2,
     lambda: nn.Conv3d(2, 2, (2, 3, 2), stride=(1, 2, 2), padding=(1, 0, 1), dilation=(2, 1, 1), groups=2), True),
    ("conv3d(4, 2, padding = same, bias = false)", [3, 3, 4, 3], 2,
     lambda: nn.Conv3d(3, 4, 2, padding="same", bias=False), True),
    ("conv3d(6, [1, 2, 2], stride = 2, groups = 3)", [3, 4, 4, 5], 2,
     lambda: nn.Conv3d(3, 6, (1, 2, 2), stride=2, groups=3), True),
    ("conv_transpose1d(3, 3, stride = 2, padding = 1, output_padding = 1)", [4, 5], 2,
     lambda: nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1), True),
    ("conv_transpose1d(4, 2, groups = 2, dilation = 2, bias = false)", [2, 6], 3,
     lambda: nn.ConvTranspose1d(2, 4, 2, groups=2, dilation=2, bias=False), True),
    ("conv_transpose1d(2, 4, stride = 3, padding = 2)", [3, 4], 2,
     lambda: nn.ConvTranspose1d(3, 2, 4, stride=3, padding=2), True),
    ("max_pool3d(2)", [2, 4, 4, 5], 2, lambda: nn.MaxPool3d(2), True),
    ("max_pool3d(3, stride = 2, padding = 1, ceil_mode = true)", [2, 5, 6, 5], 2,
     lambda: nn.MaxPool3d(3, stride=2, padding=1, ceil_mode=True), True),
    ("max_pool3d([2, 2, 3], stride = 1, dilation = [1, 2, 1])", [1, 3, 5, 4], 2,
     lambda: nn.MaxPool3d((2, 2, 3), stride=1, dilation=(1, 2, 1)), True),
    ("avg_pool3d(2)", [2, 4, 4, 5], 2, lambda: nn.AvgPool3d(2), True),
    ("avg_pool3d(3, stride = 2, padding = 1, ceil_mode = true, count_include_pad = false)", [2, 5, 6, 4], 2,
     lambda: nn.AvgPool3d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), True),
    ("avg_pool3d([3, 2, 2], stride = [2, 1, 2], padding = 1)", [1, 5, 4, 5], 2,
     lambda: nn.AvgPool3d((3, 2, 2), stride=(2, 1, 2), padding=1), True),
    ("adaptive_avg_pool3d([2, 3, 2])", [2, 5, 4, 5], 2, lambda: nn.AdaptiveAvgPool3d((2, 3, 2)), True),
    ("adaptive_avg_pool3d(3)", [1, 4, 7, 3], 2, lambda: nn.AdaptiveAvgPool3d(3), True),
    ("batchnorm", [3, 2, 3, 4], 2, lambda: nn.BatchNorm3d(3), True),
    ("batchnorm(momentum = 0.25, affine = false)", [2, 3, 2, 2], 3,
     lambda: nn.BatchNorm3d(2, momentum=0.25, affine=False), True),
    ("batchnorm", [3, 2, 2, 3], 2, lambda: nn.BatchNorm3d(3), False),
    ("upsample(scale_factor = 2)", [2, 3, 4], 2, lambda: nn.Upsample(scale_factor=2, mode="nearest"), True),
    ("upsample(scale_factor = [3, 2])", [2, 2, 3], 2, lambda: nn.Upsample(scale_factor=(3, 2), mode="nearest"), True),
    ("upsample(size = [5, 7])", [2, 3, 4], 2, lambda: nn.Upsample(size=(5, 7), mode="nearest"), True),
    ("upsample(size = [20, 3])", [1, 14, 6], 2, lambda: nn.Upsample(size=(20, 3), mode="nearest"), True),
    # 26 → 22: PyTorch's float32 source index of output 11 is ⌊11 · fl(26/22)⌋ = 12, where ⌊11 · 26/22⌋ = 13.
    ("upsample(size = [22, 4])", [1, 26, 3], 2, lambda: nn.Upsample(size=(22, 4), mode="nearest"), True),
    ("upsample(scale_factor = 3)", [2, 5], 2, lambda: nn.Upsample(scale_factor=3, mode="nearest"), True),
    ("upsample(size = 7)", [2, 5], 2, lambda: nn.Upsample(size=7, mode="nearest"), True),
    ("upsample(scale_factor = [1, 2, 3])", [2, 2, 3, 2], 2,
     lambda: nn.Upsample(scale_factor=(1, 2, 3), mode="nearest"), True),
    ("upsample(size = [3, 5, 4])", [1, 2, 3, 3], 2, lambda: nn.Upsample(size=(3, 5, 4), mode="nearest"), True),
    ("upsample(scale_factor = 2, mode = bilinear)", [2, 3, 4], 2,
     lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), True),
    ("upsample(scale_factor = [3, 2], mode = bilinear, align_corners = true)", [2, 3, 4], 2,
     lambda: nn.Upsample(scale_factor=(3, 2), mode="bilinear", align_corners=True), True),
    ("upsample(size = [5, 7], mode = bilinear, align_corners = true)", [2, 3, 4], 2,
     lambda: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True), True),
    ("upsample(size = [5, 7], mode = bilinear)", [2, 3, 4], 2,
     lambda: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False), True),
    ("upsample(size = [2, 3], mode = bilinear)", [1, 5, 7], 2,
     lambda: nn.Upsample(size=(2, 3), mode="bilinear", align_corners=False), True),
    ("upsample(size = [1, 4], mode = bilinear, align_corners = true)", [1, 3, 5], 2,
     lambda: nn.Upsample(size=(1, 4), mode="bilinear", align_corners=True), True),
]


def tensors(named):
    return [{"name": k, "shape": list(v.shape), "data": v.detach().flatten().tolist()} for k, v in named]


cases = []
for layer, shape, n, make, train in CASES:
    m = make().double()
    with torch.no_grad():
        for _, t in m.named_parameters():
            t.copy_(grid(t.shape, 4096.0))
        if isinstance(m, nn.BatchNorm3d) and not train:
            m.running_mean.copy_(grid(m.running_mean.shape, 1024.0))
            m.running_var.copy_(grid(m.running_var.shape, 1024.0).abs() + 0.5)
    m.train(train)
    buffers_before = tensors(m.named_buffers())
    x = grid((n, *shape), 256.0).requires_grad_(True)
    y = m(x)
    g = grid(y.shape, 256.0)
    (y * g).sum().backward()
    case = {
        "layer": layer,
        "shape": shape,
        "n": n,
        "train": train,
        "params": tensors(m.named_parameters()),
        "x": x.detach().flatten().tolist(),
        "out_shape": list(y.shape[1:]),
        "y": y.detach().flatten().tolist(),
        "g": g.flatten().tolist(),
        "param_grads": [{"name": k, "data": v.grad.flatten().tolist()} for k, v in m.named_parameters()],
        "input_grad": x.grad.flatten().tolist(),
    }
    if buffers_before:
        case["buffers_before"] = [b for b in buffers_before if b["name"] != "num_batches_tracked"]
        case["buffers_after"] = [b for b in tensors(m.named_buffers()) if b["name"] != "num_batches_tracked"]
    cases.append(case)

print(json.dumps({"torch": torch.__version__, "cases": cases}))
