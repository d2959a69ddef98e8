"""Reference for examples/efficientnet-b0.nn's stochastic depth: torchvision 0.14's efficientnet_b0() rates,
block by block. torchvision gives the i-th of the 16 MBConv blocks (counted from 0 over all stages)
StochasticDepth(0.2 * i / 16, "row"); it runs only in a block with a skip connection (`use_res_connect`),
so only those are listed, by the block's state-dict prefix, with the rate as Python's float (`repr`, so the
double is exact).

Run with PyTorch 1.13 / torchvision 0.14.1:  python3 make_stochastic_depth.py > stochastic-depth.json
"""
import json
import sys

import torch
import torchvision
from torchvision.ops import StochasticDepth

model = torchvision.models.efficientnet_b0()
rows = []
for name, module in model.named_modules():
    if not isinstance(module, StochasticDepth):
        continue
    block = name.rsplit(".", 1)[0]
    if model.get_submodule(block).use_res_connect:
        rows.append({"block": block, "p": module.p, "mode": module.mode})
json.dump(
    {
        "model": "efficientnet-b0",
        "source": "torchvision 0.14 models.efficientnet_b0()",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "stochastic_depth": rows,
    },
    sys.stdout,
    indent=1,
)
sys.stdout.write("\n")
