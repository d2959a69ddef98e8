"""Reference for nnc's `attention(…, add_bias_kv = true)`: PyTorch 1.13, float64 autograd.

Run with PyTorch (1.13 made the committed file):  python3 make_attention_bias_kv.py > attention_bias_kv.json

Each case is torch.nn.MultiheadAttention(E, heads, add_bias_kv=True, batch_first=True) itself
(https://pytorch.org/docs/1.13/generated/torch.nn.MultiheadAttention.html), called as `mha(x, x, x)`
(self-attention) or `mha(x, memory, memory)` / `mha(x, keys, values)` (cross-attention), need_weights=False.
Its parameters keep PyTorch's names and order (`in_proj_weight` or q/k/v_proj_weight, `in_proj_bias`,
`bias_k` [1, 1, E], `bias_v` [1, 1, E], `out_proj.weight`, `out_proj.bias`), which nnc's
`qkv_proj = "in_proj_"` gives. F.multi_head_attention_forward appends bias_k and bias_v after the
projected keys and values (S + 1 keys) and pads key_padding_mask with one unmasked column. A case with
`length` L is called with the first L positions: PyTorch's side runs the full length with
`key_padding_mask` true at positions >= L, its outputs and gradients cut to the first L positions (the
upstream gradient is zero past L). `count` is sum(p.numel() for p in mha.parameters()).

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


def case(name, spec, mha, N, T, S, E, seed, self_attention, length=None, kdim=None, vdim=None):
    torch.manual_seed(seed)
    params = dict(mha.named_parameters())
    with torch.no_grad():
        for p in params.values():
            p.copy_(grid(torch.rand_like(p) * 1.6 - 0.8, 2.0**-12))
    x = grid(torch.randn(N, T, E), 2.0**-8).requires_grad_(True)
    if self_attention:
        memory = values = x
    else:
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
    given = [("x", x)] + ([] if self_attention else [("memory", memory)])
    if values is not memory:
        given.append(("values", values))
    # A padded memory shares x's length (cut like x); one of another maximum length is given whole.
    return {
        "name": name,
        "spec": spec,
        "count": sum(p.numel() for p in mha.parameters()),
        **({"length": length} if length is not None else {}),
        "params": [tensor(k, v) for k, v in params.items()],
        "inputs": [tensor(k, cut(v)) for k, v in given],
        "outputs": tensor("y", cut(y)),
        "gy": tensor("gy", cut(gy)),
        "param_grads": [tensor(k, v.grad) for k, v in params.items()],
        "input_grads": [tensor(k, cut(v.grad)) for k, v in given],
    }


cases = []
N = 2

# Self-attention, full length and padded (3 of 5 positions).
for (T, E, H, bias, length) in [(4, 8, 2, True, None), (3, 6, 3, False, None), (5, 8, 2, True, 3)]:
    mha = nn.MultiheadAttention(E, H, bias=bias, add_bias_kv=True, batch_first=True)
    args = f'{H}, qkv_proj = "in_proj_", add_bias_kv = true' + ("" if bias else ", bias = false")
    text = f"model M(x: f32[t <= {T}, {E}]) {{\n  attention({args}) as att\n}}\n"
    name = f"self, T {T}, E {E}, {H} heads, bias {bias}" + (f", {length} of {T} positions" if length else "")
    cases.append(case(name, text, mha, N, T, T, E, len(cases), True, length))

# Cross-attention to a memory of its own length; one sharing x's length, padded (3 of 5 positions).
for (T, S, E, H, same, length) in [(4, 6, 8, 2, False, None), (5, 5, 8, 4, True, 3)]:
    mha = nn.MultiheadAttention(E, H, add_bias_kv=True, batch_first=True)
    args = f'{H}, qkv_proj = "in_proj_", add_bias_kv = true'
    mem = f"t, {E}" if same else f"s <= {S}, {E}"
    text = f"model M(x: f32[t <= {T}, {E}], memory: f32[{mem}]) {{\n  [x, memory] -> attention({args}) as att\n}}\n"
    name = f"cross, T {T}, S {S}, E {E}, {H} heads" + (f", {length} of {T} positions" if length else "")
    cases.append(case(name, text, mha, N, T, S, E, len(cases), False, length))

# kdim / vdim: keys and values apart, of other widths (q/k/v_proj_weight, then in_proj_bias, bias_k, bias_v).
T, S, E, H, kdim, vdim = 3, 4, 8, 2, 6, 5
mha = nn.MultiheadAttention(E, H, kdim=kdim, vdim=vdim, add_bias_kv=True, batch_first=True)
args = f'{H}, qkv_proj = "in_proj_", kdim = {kdim}, vdim = {vdim}, add_bias_kv = true'
text = (
    f"model M(x: f32[t <= {T}, {E}], keys: f32[s <= {S}, {kdim}], values: f32[s, {vdim}]) {{\n"
    f"  [x, keys, values] -> attention({args}) as att\n}}\n"
)
name = f"cross, T {T}, S {S}, E {E}, {H} heads, kdim {kdim}, vdim {vdim}"
cases.append(case(name, text, mha, N, T, S, E, len(cases), False, kdim=kdim, vdim=vdim))

print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
