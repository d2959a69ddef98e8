#!/usr/bin/env python3
"""Which kernel PyTorch 1.13 runs a convolution on, measured: the fixture behind src/count/eager-peak.ts
`nativeConv`, whose rule (ConvParams::use_mkldnn) decides whether the PyTorch-eager inference peak of a
convolution is estimated (ATen's own kernels) or named as not estimated (oneDNN).

Eight layers at the edge of the rule's size test, then 300 random conv1d/conv2d/conv3d layers (seeded: batch 1, 2, 3 or 16; kernel 1–5 per axis; stride, dilation,
groups, padding and padding_mode drawn), each run once in eval mode under no_grad on the CPU with one
thread while the profiler records the ops: `op` is the convolution kernel that ran (aten::mkldnn_convolution,
aten::thnn_conv2d, aten::slow_conv3d, aten::slow_conv_dilated2d/3d) and `calls` how many times (once per
group where the kernel has no groups), with the nnc spec of the same layer; `opOnednnOff` and
`callsOnednnOff` the same with oneDNN disabled (`torch.backends.mkldnn.flags(enabled=False)`, the
convention nnc's inference peak takes for a model with convolutions the default sends to oneDNN).

Run: /usr/bin/python3 scripts/conv-dispatch.py > test/fixtures/conv-dispatch.json
"""
import json
import random

import torch
import torch.nn as nn
from torch._C._profiler import _ExperimentalConfig
from torch.autograd import ProfilerConfig, ProfilerState, _disable_profiler_legacy, _enable_profiler_legacy

KERNELS = {
    "aten::mkldnn_convolution",
    "aten::thnn_conv2d",
    "aten::slow_conv3d",
    "aten::slow_conv_dilated2d",
    "aten::slow_conv_dilated3d",
}


def kernel_run(layer, x):
    config = ProfilerConfig(ProfilerState.CPU, False, False, False, False, False, _ExperimentalConfig())
    with torch.no_grad():
        _enable_profiler_legacy(config)
        layer(x)
        records = _disable_profiler_legacy()
    ran = [r.name() for thread in records for r in thread if r.kind() == "push" and r.name() in KERNELS]
    assert len(set(ran)) == 1, ran
    return ran[0], len(ran)


def listed(xs):
    return str(xs[0]) if len(set(xs)) == 1 else "[" + ", ".join(map(str, xs)) + "]"


def measure(rank, cin, out, batch, sizes, k, s=None, d=None, p=None, groups=1, mode="zeros"):
    """One layer: the kernel torch runs it on, and its nnc spec."""
    s, d, p = s or [1] * rank, d or [1] * rank, p if p is not None else [0] * rank
    cls = [nn.Conv1d, nn.Conv2d, nn.Conv3d][rank - 1]
    layer = cls(cin, out, k, stride=s, dilation=d, padding=p, groups=groups, padding_mode=mode).eval()
    x = torch.randn(batch, cin, *sizes)
    op, calls = kernel_run(layer, x)
    with torch.backends.mkldnn.flags(enabled=False):
        op_off, calls_off = kernel_run(layer, x)
    opts = "".join(
        f", {name} = {v if isinstance(v, str) else listed(v)}"
        for name, v, default in [("stride", s, 1), ("padding", p, 0), ("dilation", d, 1)]
        if isinstance(v, str) or any(x != default for x in v)
    )
    opts += f", groups = {groups}" if groups > 1 else ""
    opts += f", padding_mode = {mode}" if mode != "zeros" else ""
    spec = f"model M(x: f32[{', '.join(map(str, [cin, *sizes]))}]) {{\n  conv{rank}d({out}, {listed(k)}{opts})\n}}\n"
    return {"spec": spec, "batch": batch, "op": op, "calls": calls, "opOnednnOff": op_off, "callsOnednnOff": calls_off}


torch.set_num_threads(1)
# At the edge of batch · C · size(2) · size(3) ≤ 20480 (batch 1, a 3×3 kernel): a padded copy that crosses
# it (reflect by 1, an odd `same`), and a 3-d input whose last axis is left out of the product.
cases = [
    measure(2, 1, 1, 1, [143, 143], [3, 3]),
    measure(2, 1, 1, 1, [143, 143], [3, 3], p=[1, 1], mode="reflect"),
    measure(2, 1, 1, 1, [143, 143], [3, 3], p="same"),
    measure(2, 1, 1, 1, [143, 143], [2, 2], p="same"),
    measure(3, 2, 1, 1, [100, 102, 3], [3, 3, 3]),
    measure(3, 2, 1, 1, [100, 103, 3], [3, 3, 3]),
    measure(1, 2, 1, 1, [10240], [3]),
    measure(1, 2, 1, 1, [10241], [3]),
]
rng = random.Random(15)
while len(cases) < 308:
    rank = rng.choice([1, 2, 3])
    groups = rng.choice([1, 1, 1, 2, 4])
    cin = groups * rng.choice([1, 2, 3])
    out = groups * rng.choice([1, 2])
    batch = rng.choice([1, 1, 2, 3, 16])
    k = [rng.choice([1, 1, 2, 3, 4, 5]) for _ in range(rank)]
    s = [rng.choice([1, 1, 1, 2]) for _ in range(rank)]
    d = [rng.choice([1, 1, 1, 2]) for _ in range(rank)]
    p = [rng.choice([0, 0, 1, 2]) for _ in range(rank)]
    mode = rng.choice(["zeros", "zeros", "zeros", "reflect", "replicate", "circular"])
    choices = [6, 12, 40, 120] if rank == 1 else [5, 9, 24, 70] if rank == 2 else [4, 7, 12]
    sizes = [rng.choice(choices) for _ in range(rank)]
    # Valid: the kernel's span fits, and reflect pads less than the size.
    if any(L + 2 * pp < dd * (kk - 1) + 1 or (mode == "reflect" and pp >= L) for L, kk, dd, pp in zip(sizes, k, d, p)):
        continue
    cases.append(measure(rank, cin, out, batch, sizes, k, s, d, p, groups, mode))

print(json.dumps({"torch": torch.__version__, "threads": 1, "cases": cases}, indent=1))
