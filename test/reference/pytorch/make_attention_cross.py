"""Reference for nnc's cross-attention, `[x, memory] -> attention(heads, …)`: PyTorch 1.13, float64 autograd.

Run with PyTorch (1.13 made the committed file):  python3 make_attention_cross.py > attention_cross.json

Each case is torch.nn.MultiheadAttention(E, heads, batch_first=True) itself, called as
`mha(x, memory, memory, need_weights=False)`: queries from x [N, T, E], keys and values from the memory
[N, S, E] (https://pytorch.org/docs/1.13/generated/torch.nn.MultiheadAttention.html). Its parameters keep
PyTorch's names (`in_proj_weight` [3E, E], `in_proj_bias` [3E], `out_proj.weight`, `out_proj.bias`), which
nnc's `qkv_proj = "in_proj_"` gives. A case with `length` L shares the sequence length between x and the
memory (`memory: f32[t, E]`) and is called with the first L positions: PyTorch's side runs the full length
with `key_padding_mask` true at positions ≥ L, its outputs and gradients cut to the first L positions
(the upstream gradient is zero past L). `count` is sum(p.numel() for p in mha.parameters()).

Parameters are multiples of 2^-12 and inputs of 2^-8; `gy` is the upstream gradient given to backward.
"""
import json

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


def grid(t, step):
    return torch.round(t / step) * step


def tensor(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().flatten().tolist()}


def case(name, spec, mha, N, T, S, E, seed, length=None, kdim=None, vdim=None):
    torch.manual_seed(seed)
    params = dict(mha.named_parameters())
    with torch.no_grad():
        for p in params.values():
            p.copy_(grid(torch.rand_like(p) * 1.6 - 0.8, 2.0**-12))
    x = grid(torch.randn(N, T, E), 2.0**-8).requires_grad_(True)
    memory = grid(torch.randn(N, S, kdim or E), 2.0**-8).requires_grad_(True)
    values = memory
    if vdim is not None and vdim != kdim:
        values = grid(torch.randn(N, S, vdim), 2.0**-8).requires_grad_(True)
    mask = None
    if length is not None:
        mask = torch.arange(S).unsqueeze(0).expand(N, S) >= length
    y, _ = mha(x, memory, values, need_weights=False, key_padding_mask=mask)
    gy = grid(torch.randn_like(y), 2.0**-8)
    L = T if length is None else length
    if length is not None:
        gy[:, L:] = 0
    y.backward(gy)
    cut = lambda t: t[:, :L] if length is not None else t
    return {
        "name": name,
        "spec": spec,
        "count": sum(p.numel() for p in mha.parameters()),
        **({"length": length} if length is not None else {}),
        "params": [tensor(k, v) for k, v in params.items()],
        "inputs": [tensor("x", cut(x)), tensor("memory", cut(memory) if length is not None else memory)]
        + ([tensor("values", values)] if values is not memory else []),
        "outputs": tensor("y", cut(y)),
        "gy": tensor("gy", cut(gy)),
        "param_grads": [tensor(k, v.grad) for k, v in params.items()],
        "input_grads": [tensor("x", cut(x.grad)), tensor("memory", cut(memory.grad) if length is not None else memory.grad)]
        + ([tensor("values", values.grad)] if values is not memory else []),
    }


def spec(T, S, E, args, same_length=False):
    mem = f"t, {E}" if same_length else f"s <= {S}, {E}"
    return (
        f"model M(x: f32[t <= {T}, {E}], memory: f32[{mem}]) {{\n"
        f"  [x, memory] -> attention({args}) as att\n}}\n"
    )


cases = []
N = 2
for (T, S, E, H, bias) in [(4, 6, 8, 2, True), (3, 5, 6, 3, False), (5, 2, 8, 4, True)]:
    mha = nn.MultiheadAttention(E, H, bias=bias, batch_first=True)
    args = f'{H}, qkv_proj = "in_proj_"' + ("" if bias else ", bias = false")
    cases.append(case(f"T {T}, S {S}, E {E}, {H} heads, bias {bias}", spec(T, S, E, args), mha, N, T, S, E, len(cases)))

# Padded memory: x and the memory share the length t; called with 3 of 5 positions.
T = S = 5
E, H = 8, 2
mha = nn.MultiheadAttention(E, H, batch_first=True)
args = f'{H}, qkv_proj = "in_proj_"'
cases.append(case("shared length, 3 of 5 positions (key_padding_mask)", spec(T, S, E, args, True), mha, N, T, S, E, len(cases), 3))

# kdim / vdim: keys and values of other widths than the query (q_proj_weight [E, E], k_proj_weight
# [E, kdim], v_proj_weight [E, vdim], in_proj_bias [3E]); one memory (kdim = vdim), or keys and values apart.
for (T, S, E, H, kdim, vdim, bias) in [(4, 5, 8, 2, 6, 6, True), (3, 4, 6, 3, 4, 4, False), (4, 3, 8, 4, 6, 5, True)]:
    mha = nn.MultiheadAttention(E, H, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
    args = f'{H}, qkv_proj = "in_proj_", kdim = {kdim}, vdim = {vdim}' + ("" if bias else ", bias = false")
    if vdim == kdim:
        text = (
            f"model M(x: f32[t <= {T}, {E}], memory: f32[s <= {S}, {kdim}]) {{\n"
            f"  [x, memory] -> attention({args}) as att\n}}\n"
        )
    else:
        text = (
            f"model M(x: f32[t <= {T}, {E}], keys: f32[s <= {S}, {kdim}], values: f32[s, {vdim}]) {{\n"
            f"  [x, keys, values] -> attention({args}) as att\n}}\n"
        )
    name = f"T {T}, S {S}, E {E}, {H} heads, kdim {kdim}, vdim {vdim}, bias {bias}"
    cases.append(case(name, text, mha, N, T, S, E, len(cases), kdim=kdim, vdim=vdim))

print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
