#!/usr/bin/env python3
"""Fixture for matrices stored [in, out] (`layout = in_out`): Hugging Face's `Conv1D` and GPT-2's attention
computed by PyTorch in float64, forward and backward, for test/codegen-layouts.test.ts.

`Conv1D` is transformers' `pytorch_utils.Conv1D` (weight `[nx, nf]` = [in, out], bias `[nf]`, forward
`torch.addmm(bias, x.view(-1, nx), weight)`), copied below so that the script needs only torch. The
attention is HF `GPT2Attention` (transformers `models/gpt2/modeling_gpt2.py`, eager path, no dropout):
`c_attn` (Conv1D, D → 3D) split into q, k, v along the last axis, heads of D / H, scores q kᵀ / √hd with
the causal mask, softmax, weighted sum of v, heads merged, `c_proj` (Conv1D, D → D).

Each case: the nnc spec it corresponds to, its parameters by state-dict name (seeded normal values), an
input x [n, T, D], an output gradient gy, and PyTorch's y, dx and each parameter's gradient. Run:
    python3 scripts/torch-conv1d-layouts.py > test/fixtures/torch-conv1d-layouts.json
(torch 1.13 CPU; the output is deterministic for a given torch build.)
"""
import json
import math
import sys

import torch
from torch import nn

torch.set_default_dtype(torch.float64)


class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D: a linear layer with its weight stored [in, out]."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class Gpt2Attention(nn.Module):
    """GPT2Attention's eager forward without dropout or caches (causal, scaled by 1/√hd)."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.hd = d // heads
        self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        split = lambda a: a.view(n, t, self.heads, self.hd).permute(0, 2, 1, 3)
        q, k, v = split(q), split(k), split(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd)
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min))
        w = nn.functional.softmax(w, dim=-1)
        a = torch.matmul(w, v).permute(0, 2, 1, 3).reshape(n, t, d)
        return self.c_proj(a)


class Mlp(nn.Module):
    """GPT2MLP without dropout: c_fc (Conv1D), GELU (tanh approximation), c_proj (Conv1D)."""

    def __init__(self, d, hidden):
        super().__init__()
        self.c_fc = Conv1D(hidden, d)
        self.c_proj = Conv1D(d, hidden)

    def forward(self, x):
        return self.c_proj(nn.functional.gelu(self.c_fc(x), approximate="tanh"))


class Named(nn.Module):
    """`module` held under `name`, so that state-dict keys are the spec's (`attn.c_attn.weight`)."""

    def __init__(self, name, module):
        super().__init__()
        self.add_module(name, module)
        self.inner = [module]

    def forward(self, x):
        return self.inner[0](x)


def named(name, module):
    return Named(name, module)


def case(name, spec, module, n, t, d, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.randn(n, t, d, generator=g).requires_grad_(True)
    y = module(x)
    gy = torch.randn(y.shape, generator=g)
    y.backward(gy)
    flat = lambda a: [float(v) for v in a.detach().reshape(-1)]
    return {
        "name": name,
        "spec": spec,
        "n": n,
        "params": [
            {"name": k, "shape": list(p.shape), "data": flat(p), "grad": flat(p.grad)}
            for k, p in module.named_parameters()
        ],
        "x": flat(x),
        "gy": flat(gy),
        "y": flat(y),
        "dx": flat(x.grad),
    }


def main():
    cases = [
        case(
            "HF Conv1D 6 → 10 (dense, layout = in_out) over a sequence",
            "model M(x: f32[seq <= 4, 6]) {\n  dense(10, layout = in_out) as c_fc\n}\n",
            named("c_fc", Conv1D(10, 6)),
            3, 4, 6, 1,
        ),
        case(
            "GPT-2 MLP 8 → 32 → 8 (two Conv1D, tanh GELU)",
            "model M(x: f32[seq <= 5, 8]) {\n  dense(32, layout = in_out) as c_fc\n"
            "  gelu(approximate = tanh)\n  dense(8, layout = in_out) as c_proj\n}\n",
            Mlp(8, 32),
            2, 5, 8, 2,
        ),
        case(
            "GPT-2 attention, D 8, 2 heads, causal (c_attn [8, 24], c_proj [8, 8])",
            "model M(x: f32[seq <= 5, 8]) {\n"
            '  attention(2, causal = true, layout = in_out, qkv_proj = "c_attn", out_proj = "c_proj") as attn\n}\n',
            named("attn", Gpt2Attention(8, 2)),
            3, 5, 8, 3,
        ),
        case(
            "GPT-2 attention, D 40, 2 heads of 20 (looped head code, packed products), causal",
            "model M(x: f32[seq <= 9, 40]) {\n"
            '  attention(2, causal = true, layout = in_out, qkv_proj = "c_attn", out_proj = "c_proj") as attn\n}\n',
            named("attn", Gpt2Attention(40, 2)),
            2, 9, 40, 4,
        ),
    ]
    json.dump({"torch": torch.__version__, "script": "scripts/torch-conv1d-layouts.py", "cases": cases}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
