"""Reference for nnc's `attention(heads, qkv = separate, k_bias = false)`: PyTorch 1.13, float64 autograd.

Run with PyTorch (1.13 made the committed file):  python3 make_attention_kbias.py > attention_kbias.json

Each case is an independent reimplementation of Hugging Face's `WhisperAttention` (transformers
models/whisper/modeling_whisper.py): four nn.Linear, `k_proj` with bias=False, `v_proj`, `q_proj` and
`out_proj` with bias, registered in that order; q scaled by head_dim^-0.5, softmax over keys (a causal
mask in the decoder's self-attention), heads concatenated, then out_proj. Cross-attention (`encoder_attn`)
takes keys and values from a memory [N, S, E]. `count` is sum(p.numel()) over the module's parameters.
Parameters are multiples of 2^-12 and inputs of 2^-8; `gy` is the upstream gradient given to backward.
"""
import json

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


class WhisperAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.scaling = self.head_dim**-0.5
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, memory=None, causal=False):
        kv = x if memory is None else memory
        N, T, E = x.shape
        S = kv.shape[1]
        H, hd = self.num_heads, self.head_dim
        q = (self.q_proj(x) * self.scaling).view(N, T, H, hd).transpose(1, 2)
        k = self.k_proj(kv).view(N, S, H, hd).transpose(1, 2)
        v = self.v_proj(kv).view(N, S, H, hd).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        if causal:
            scores = scores.masked_fill(torch.ones(T, S, dtype=torch.bool).triu(1), float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v
        return self.out_proj(o.transpose(1, 2).reshape(N, T, E))


def grid(t, step):
    return torch.round(t / step) * step


def tensor(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().flatten().tolist()}


def case(name, spec, N, T, S, E, H, seed, cross, causal):
    torch.manual_seed(seed)
    att = WhisperAttention(E, H)
    params = dict(att.named_parameters())
    with torch.no_grad():
        for p in params.values():
            p.copy_(grid(torch.rand_like(p) * 1.6 - 0.8, 2.0**-12))
    x = grid(torch.randn(N, T, E), 2.0**-8).requires_grad_(True)
    inputs = [x]
    if cross:
        inputs.append(grid(torch.randn(N, S, E), 2.0**-8).requires_grad_(True))
    y = att(x, inputs[1] if cross else None, causal)
    gy = grid(torch.randn_like(y), 2.0**-8)
    y.backward(gy)
    names = ["x", "memory"]
    return {
        "name": name,
        "spec": spec,
        "count": sum(p.numel() for p in att.parameters()),
        "params": [tensor(k, v) for k, v in params.items()],
        "inputs": [tensor(names[i], t) for i, t in enumerate(inputs)],
        "outputs": tensor("y", y),
        "gy": tensor("gy", gy),
        "param_grads": [tensor(k, v.grad) for k, v in params.items()],
        "input_grads": [tensor(names[i], t.grad) for i, t in enumerate(inputs)],
    }


cases = []
N = 2
# HF registers k_proj, v_proj, q_proj, out_proj; nnc q, k, v, out: the test compares names and shapes as sets.
for (T, S, E, H, cross, causal) in [(4, 4, 8, 2, False, False), (5, 5, 6, 3, False, True), (3, 6, 8, 4, True, False)]:
    args = f"{H}, qkv = separate, k_bias = false" + (", causal = true" if causal else "")
    if cross:
        spec = (
            f"model M(x: f32[t <= {T}, {E}], memory: f32[s <= {S}, {E}]) {{\n"
            f"  [x, memory] -> attention({args}) as att\n}}\n"
        )
    else:
        spec = f"model M(x: f32[t <= {T}, {E}]) {{\n  attention({args}) as att\n}}\n"
    kind = "cross-attention" if cross else ("causal self-attention" if causal else "self-attention")
    cases.append(case(f"{kind}, T {T}, S {S}, E {E}, {H} heads", spec, N, T, S, E, H, len(cases), cross, causal))

print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
