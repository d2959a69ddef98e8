"""Reference for the blocks of examples/efficientnet-b0.nn and examples/mobilenet-v3-large.nn: torchvision
0.14's own modules, PyTorch 1.13 autograd, float64, training mode (batch statistics).

Run with PyTorch (1.13 / torchvision 0.14.1 made the committed file):  python3 make_mbconv.py > mbconv.json

Cases, each a torchvision module registered as `m` (so its state-dict names are `m.block.…`), on N = 2
samples of [8, 5, 5]:
- `efficientnet_mbconv`: torchvision.models.efficientnet.MBConv(MBConvConfig(expand_ratio 6, kernel 3,
  stride 1, 8 → 8 channels), stochastic_depth_prob 0, BatchNorm2d): expand 1×1 + BN + SiLU, depthwise 3×3
  + BN + SiLU, SqueezeExcitation(48, 2) with SiLU and a sigmoid gate, 1×1 projection + BN, skip add.
  nnc: `MBConvSkip(8, 3, 0.0)` of examples/efficientnet-b0.nn.
- `mobilenetv3_hs_se`: torchvision.models.mobilenetv3.InvertedResidual(InvertedResidualConfig(8, 3, 32, 8,
  use_se True, "HS", stride 1, dilation 1, width_mult 1), BatchNorm2d(eps 0.001, momentum 0.01)): expand +
  BN + hardswish, depthwise + BN + hardswish, SqueezeExcitation(32, 8) with ReLU and a hardsigmoid gate,
  projection + BN, skip add. nnc: `HsSeSkip(8, 32, 8, 3)` of examples/mobilenet-v3-large.nn.

Parameters are set to multiples of 2^-12 (BatchNorm scales near 1) and inputs to multiples of 2^-8. `gy`
is the upstream gradient given to backward; `outputs`, `param_grads`, `input_grad` and the running
statistics after the forward pass (`buffers_after`) are PyTorch's.
"""
import json
from functools import partial

import torch
import torch.nn as nn
from torchvision.models.efficientnet import MBConv, MBConvConfig
from torchvision.models.mobilenetv3 import InvertedResidual, InvertedResidualConfig

torch.manual_seed(14)
torch.set_default_dtype(torch.float64)


def grid(t, step):
    return torch.round(t / step) * step


def tensor(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().flatten().tolist()}


class Wrap(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)


def case(module):
    model = Wrap(module).double().train()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):  # the only 1-d weights are BatchNorm scales
                p.copy_(grid(1 + 0.25 * torch.randn_like(p), 2.0**-12))
            else:
                p.copy_(grid(0.5 * torch.randn_like(p), 2.0**-12))
    params = [tensor(k, v) for k, v in model.named_parameters()]
    x = grid(torch.randn(2, 8, 5, 5), 2.0**-8).requires_grad_(True)
    y = model(x)
    gy = grid(torch.randn_like(y), 2.0**-8)
    y.backward(gy)
    params_set = dict(model.named_parameters())
    return {
        "params": params,
        "inputs": tensor("x", x),
        "outputs": tensor("y", y),
        "gy": tensor("gy", gy),
        "param_grads": [tensor(k, p.grad) for k, p in model.named_parameters()],
        "input_grad": tensor("x", x.grad),
        "buffers_after": [
            tensor(k, v) for k, v in model.state_dict().items() if k not in params_set and not k.endswith("num_batches_tracked")
        ],
    }


effnet = MBConv(MBConvConfig(6, 3, 1, 8, 8, 1), 0.0, nn.BatchNorm2d)
mnv3 = InvertedResidual(
    InvertedResidualConfig(8, 3, 32, 8, True, "HS", 1, 1, 1.0), partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
)
print(
    json.dumps(
        {
            "torch": torch.__version__,
            "efficientnet_mbconv": case(effnet),
            "mobilenetv3_hs_se": case(mnv3),
        }
    )
)
