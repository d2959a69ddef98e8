"""Counts for nnc's issue-14 kinds, from PyTorch: parameters, buffers (state_dict entries that are not
parameters, num_batches_tracked included) and the per-sample output shape of each module, run on a batch of 2.

Run with PyTorch 1.13 and torchvision 0.14 (/usr/bin/python3 here made the committed file):
    python3 count_volume.py > volume_counts.json
Read by test/count.test.ts ("issue-14 kinds against a torch run").
"""
import json

import torch
from torchvision.ops import StochasticDepth

nn = torch.nn

CASES = [
    # nnc layer, per-sample input shape, the PyTorch module
    ("conv3d(16, 3, padding = 1)", [3, 8, 16, 16], nn.Conv3d(3, 16, 3, padding=1)),
    ("conv3d(8, [1, 3, 3], stride = [1, 2, 2], groups = 4, bias = false)", [4, 5, 9, 9],
     nn.Conv3d(4, 8, (1, 3, 3), stride=(1, 2, 2), groups=4, bias=False)),
    ("conv3d(4, 2, padding = same, dilation = 2)", [2, 5, 6, 7], nn.Conv3d(2, 4, 2, padding="same", dilation=2)),
    ("conv_transpose1d(6, 4, stride = 2, padding = 1)", [3, 10], nn.ConvTranspose1d(3, 6, 4, stride=2, padding=1)),
    ("conv_transpose1d(4, 3, groups = 2, dilation = 3, output_padding = 2, stride = 3, bias = false)", [6, 7],
     nn.ConvTranspose1d(6, 4, 3, groups=2, dilation=3, output_padding=2, stride=3, bias=False)),
    ("max_pool3d(2)", [4, 8, 9, 10], nn.MaxPool3d(2)),
    ("max_pool3d(3, stride = 2, padding = 1, dilation = [1, 2, 1], ceil_mode = true)", [2, 7, 9, 8],
     nn.MaxPool3d(3, stride=2, padding=1, dilation=(1, 2, 1), ceil_mode=True)),
    ("avg_pool3d([2, 3, 3], stride = [1, 2, 2], padding = [0, 1, 1])", [2, 5, 9, 8],
     nn.AvgPool3d((2, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))),
    ("adaptive_avg_pool3d([1, 3, 5])", [3, 4, 7, 9], nn.AdaptiveAvgPool3d((1, 3, 5))),
    ("batchnorm", [4, 2, 3, 3], nn.BatchNorm3d(4)),
    ("batchnorm(affine = false, track_running_stats = false)", [4, 2, 3, 3],
     nn.BatchNorm3d(4, affine=False, track_running_stats=False)),
    ("upsample(scale_factor = 2)", [3, 5, 7], nn.Upsample(scale_factor=2)),
    ("upsample(scale_factor = [2, 3, 1])", [3, 2, 5, 7], nn.Upsample(scale_factor=(2, 3, 1))),
    ("upsample(size = 9)", [3, 5], nn.Upsample(size=9)),
    ("upsample(size = [7, 11], mode = bilinear, align_corners = true)", [3, 5, 6],
     nn.Upsample(size=(7, 11), mode="bilinear", align_corners=True)),
    ("drop_path(0.2)", [3, 5, 6], StochasticDepth(0.2, "row")),
]

out = []
for layer, shape, m in CASES:
    params = sum(p.numel() for p in m.parameters())
    names = {n for n, _ in m.named_parameters()}
    buffers = sum(t.numel() for n, t in m.state_dict().items() if n not in names)
    m.train()
    y = m(torch.randn(2, *shape))
    out.append({"layer": layer, "shape": shape, "params": params, "buffers": buffers, "out_shape": list(y.shape[1:]),
                "state_dict": {n: list(t.shape) for n, t in m.state_dict().items()}})
print(json.dumps({"torch": torch.__version__, "cases": out}, indent=1))
