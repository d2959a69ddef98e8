#!/usr/bin/env python3
"""Fixture for module reuse (`share = a`, issue 14 item 5): PyTorch modules that apply one instance at
several places, computed in float64, for test/codegen-share.test.ts.

A module called twice in `forward` is registered once: `parameters()` lists its tensors once (what nnc's
counts must equal), `state_dict()` names them once, and autograd sums the gradients of every use. A
BatchNorm applied twice in training mode updates its running statistics at each use, in call order
(`num_batches_tracked` counts both).

Each case: the nnc spec it corresponds to, torch's parameter count (sum of numel over `parameters()`),
state-dict names (parameters and buffers), seeded parameter values by state-dict name, an input x [n, …],
an output gradient gy, and PyTorch's y, dx, each parameter's gradient and the buffers after the step. Run:
    python3 scripts/torch-module-reuse.py > test/fixtures/torch-module-reuse.json
(torch 1.13 CPU; the output is deterministic for a given torch build.)
"""
import json
import sys

import torch
from torch import nn

torch.set_default_dtype(torch.float64)


class Enc(nn.Module):
    def __init__(self, d_in, h):
        super().__init__()
        self.fc1 = nn.Linear(d_in, h)
        self.fc2 = nn.Linear(h, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Siamese(nn.Module):
    """One encoder on both halves of the input; one projection applied twice after their product."""

    def __init__(self):
        super().__init__()
        self.encoder = Enc(6, 8)
        self.proj = nn.Linear(4, 4)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        a, b = x.split(6, dim=1)
        d = self.encoder(a) * self.encoder(b)
        return self.head(self.proj(torch.relu(self.proj(d))))


SIAMESE = """block Enc(h) {
  dense(h) as fc1
  relu
  dense(4) as fc2
}

model Siamese(x: f32[12]) {
  a, b = x -> split(2)
  ea = a -> Enc(8) as encoder
  eb = b -> Enc(8, share = encoder)
  ea * eb -> dense(4) as proj -> relu -> dense(4, share = proj) -> dense(1) as head
}
"""


class AlbertLayer(nn.Module):
    """HF AlbertLayer's feed-forward half: x + ffn_output(gelu(ffn(x))), then LayerNorm."""

    def __init__(self, d, hidden):
        super().__init__()
        self.ffn = nn.Linear(d, hidden)
        self.ffn_output = nn.Linear(hidden, d)
        self.full_layer_layer_norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.full_layer_layer_norm(x + self.ffn_output(nn.functional.gelu(self.ffn(x))))


class Albert(nn.Module):
    """ALBERT's cross-layer sharing: one layer instance applied 12 times."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 8)
        self.layer = AlbertLayer(8, 16)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.embed(x)
        for _ in range(12):
            h = self.layer(h)
        return self.head(h)


ALBERT = """block AlbertLayer(d, hidden) {
  residual {
    dense(hidden) as ffn
    gelu
    dense(d) as ffn_output
  }
  layernorm as full_layer_layer_norm
}

model Albert(x: f32[5]) {
  dense(8) as embed
  AlbertLayer(8, 16) as layer
  repeat 11 {
    AlbertLayer(8, 16, share = layer)
  }
  dense(3) as head
}
"""


class ConvBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm1d(6)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class SiameseBn(nn.Module):
    """A convolution + BatchNorm branch applied to both halves (training mode: statistics updated twice)."""

    def __init__(self):
        super().__init__()
        self.branch = ConvBn()
        self.head = nn.Linear(30, 2)

    def forward(self, x):
        a, b = x.split(4, dim=1)
        return self.head((self.branch(a) + self.branch(b)).flatten(1))


SIAMESE_BN = """block ConvBn {
  conv1d(6, 3, padding = 1, bias = false) as conv
  batchnorm as bn
  relu
}

model SiameseBn(x: f32[8, 5]) {
  a, b = x -> split(2, axis = 0)
  ea = a -> ConvBn as branch
  eb = b -> ConvBn(share = branch)
  ea + eb -> flatten -> dense(2) as head
}
"""


def tensors(named):
    return [{"name": k, "shape": list(v.shape), "data": v.detach().flatten().tolist()} for k, v in named]


def case(name, spec, module, x_shape, n, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    module.train()
    names = list(module.state_dict().keys())
    params = tensors(module.named_parameters())
    x = torch.randn([n, *x_shape], generator=g).requires_grad_(True)
    y = module(x)
    gy = torch.randn(y.shape, generator=g)
    y.backward(gy)
    return {
        "name": name,
        "spec": spec,
        "n": n,
        "parameters": sum(p.numel() for p in module.parameters()),
        "state_dict": names,
        "params": [
            {**t, "grad": p.grad.flatten().tolist()} for t, (_, p) in zip(params, module.named_parameters())
        ],
        "buffers_after": tensors((k, v.double()) for k, v in module.named_buffers() if k.endswith("running_mean") or k.endswith("running_var")),
        "x": x.detach().flatten().tolist(),
        "gy": gy.flatten().tolist(),
        "y": y.detach().flatten().tolist(),
        "dx": x.grad.flatten().tolist(),
    }


def main():
    torch.manual_seed(0)
    cases = [
        case("siamese", SIAMESE, Siamese(), [12], 3, 1),
        case("albert", ALBERT, Albert(), [5], 2, 2),
        case("siamese_bn", SIAMESE_BN, SiameseBn(), [8, 5], 3, 3),
    ]
    json.dump({"torch": torch.__version__, "cases": cases}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
