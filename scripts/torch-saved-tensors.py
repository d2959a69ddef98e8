#!/usr/bin/env python3
"""What PyTorch's autograd keeps for backward, measured: the fixture behind the PyTorch-eager activation
figure of `nnc count --batch` (src/count/memory.ts, `eagerOp`; test/memory.test.ts compares).

Each case is an nnc spec and the same model in PyTorch (the layers nnc mirrors, PyTorch's defaults). The
model runs forward once in training mode, fp32, on the CPU, under `torch.autograd.graph.saved_tensors_hooks`
(https://pytorch.org/docs/stable/autograd.html#hooks-for-saved-tensors): every tensor an autograd node saves
for its backward passes through the pack hook. Saved tensors are counted once per storage (a ReLU's output
that the next Linear saves as its input is one tensor; a view shares its base's storage), parameters are
left out (they are counted as parameters), and the bytes are the storages' sizes.

Each case also records `peak`, the inference peak of its activations (src/count/eager-peak.ts): the model in
eval mode under torch.no_grad(), fp32, on the CPU with one thread, run once while the profiler records every
allocation and free of c10's CPU allocator in order (the legacy autograd profiler with profile_memory: each
`memory_alloc` record is one storage allocated or freed, by any ATen op, its temporaries included; memory
that oneDNN or BLAS allocate outside c10's allocator is not seen). `peak` is the input's bytes plus the
highest running sum of those records during the forward pass; parameters and buffers, allocated before,
are not in it. PyTorch frees a tensor when its last reference goes, so the models here hold a value no longer
than its last reader (`del` after the last use), as nnc's figure assumes.

Run: /usr/bin/python3 scripts/torch-saved-tensors.py > test/fixtures/torch-saved-tensors.json
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch._C._profiler import _ExperimentalConfig
from torch.autograd import ProfilerConfig, ProfilerState, _disable_profiler_legacy, _enable_profiler_legacy

BATCH = 3


def saved_bytes(model, make_input):
    torch.manual_seed(0)
    model.train()
    params = {p.storage().data_ptr() for p in [*model.parameters(), *model.buffers()]}
    seen = {}

    def pack(t):
        s = t.storage()
        if s.data_ptr() not in params:
            seen[s.data_ptr()] = s.nbytes()
        return t

    x = make_input()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(*x) if isinstance(x, tuple) else model(x)
    return sum(seen.values())


class Seq(nn.Module):
    def __init__(self, *fs):
        super().__init__()
        self.fs = nn.ModuleList([f for f in fs if isinstance(f, nn.Module)])
        self.calls = fs

    def forward(self, x):
        for f in self.calls:
            if self is MARKED:
                torch.ops.aten.alias(x)  # a step's start in the profile: a view, no allocation
            x = f(x)
        return x


class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


def floats(*shape):
    return lambda: torch.randn(BATCH, *shape)


def tokens(vocab, *shape):
    return lambda: torch.randint(0, vocab, (BATCH, *shape))


MARKED = None


def inference_peak(model, make_input):
    """The input's bytes plus the highest sum of the CPU allocator's allocations minus its frees during one
    forward pass in eval mode under no_grad (one thread: the order of the records is the program's). For a
    chain of layers (`Seq`), also the same highest sum within each layer's call, in order: `steps`."""
    global MARKED
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model.eval()
    x = make_input()
    config = ProfilerConfig(ProfilerState.CPU, False, True, False, False, False, _ExperimentalConfig())
    MARKED = model if isinstance(model, Seq) else None
    with torch.no_grad():
        _enable_profiler_legacy(config)
        model(*x) if isinstance(x, tuple) else model(x)
        records = _disable_profiler_legacy()
    MARKED = None
    base = sum(t.storage().nbytes() for t in x) if isinstance(x, tuple) else x.storage().nbytes()
    live = top = 0
    steps = []
    depth = 0
    for thread in records:
        for r in thread:
            if r.kind() == "push":
                if depth == 0 and r.name() == "aten::alias":
                    steps.append(live)
                depth += 1
            elif r.kind() == "pop":
                depth -= 1
            elif r.kind() == "memory_alloc":
                live += r.cpu_memory_usage()
                top = max(top, live)
                if steps:
                    steps[-1] = max(steps[-1], live)
    return base + top, [base + s for s in steps] if isinstance(model, Seq) else None


cases = []


def onednn_off_name(name, batch):
    """The name of a case measured again with oneDNN disabled at `batch`."""
    return f"{name}; oneDNN off, batch {batch}"


def case(name, spec, model, make_input, batch=3, onednn_off=()):
    """One case at `batch` (3 unless said: convolutions take another path at batch 1 and from 16); then,
    for each batch of `onednn_off`, the same model with oneDNN disabled (torch.backends.mkldnn.flags(
    enabled=False): every convolution on ATen's own kernels), its inference peak measured that way
    (`"onednn": false`; its saved tensors as PyTorch's default dispatch keeps them)."""
    global BATCH
    for b, onednn in [(batch, True), *[(b, False) for b in onednn_off]]:
        BATCH = b
        saved = saved_bytes(model, make_input)
        with torch.backends.mkldnn.flags(enabled=onednn):
            peak, steps = inference_peak(model, make_input)
        cases.append(
            {"name": name if onednn else onednn_off_name(name, b), "spec": spec, "batch": BATCH, "bytes": saved}
            | ({} if onednn else {"onednn": False})
            | {"peak": peak}
            | ({"steps": steps} if steps is not None else {})
        )
    BATCH = 3


case(
    "mlp",
    "model M(x: f32[20]) {\n  dense(30)\n  relu\n  dense(10)\n}\n",
    Seq(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 10)),
    floats(20),
)
case(
    "activations",
    "model M(x: f32[12]) {\n"
    + "".join(
        f"  dense(12)\n  {a}\n"
        for a in ["gelu", "silu", "sigmoid", "tanh", "leaky_relu", "elu", "selu", "softplus", "mish", "hard_sigmoid"]
    )
    + "  dense(12)\n  softmax\n  dense(12)\n  log_softmax\n}\n",
    Seq(
        *[
            m
            for a in [
                nn.GELU(),
                nn.SiLU(),
                nn.Sigmoid(),
                nn.Tanh(),
                nn.LeakyReLU(),
                nn.ELU(),
                nn.SELU(),
                nn.Softplus(),
                nn.Mish(),
                nn.Hardsigmoid(),
            ]
            for m in (nn.Linear(12, 12), a)
        ],
        nn.Linear(12, 12),
        nn.Softmax(-1),
        nn.Linear(12, 12),
        nn.LogSoftmax(-1),
    ),
    floats(12),
)
case(
    "cnn",
    "model M(x: f32[3, 16, 16]) {\n  conv2d(8, 3, padding = 1)\n  batchnorm\n  relu\n  max_pool2d(2)\n"
    "  conv2d(8, 3)\n  groupnorm(2)\n  gelu\n  avg_pool2d(2)\n  flatten\n  dropout(0.5)\n  dense(10)\n}\n",
    Seq(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3),
        nn.GroupNorm(2, 8),
        nn.GELU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(72, 10),
    ),
    floats(3, 16, 16),
    onednn_off=[3, 16],
)
case(
    "pools",
    "model M(x: f32[4, 20]) {\n  conv1d(6, 3)\n  max_pool1d(2)\n  conv1d(6, 3)\n  avg_pool1d(2)\n"
    "  adaptive_avg_pool1d(2)\n  flatten\n  dense(5)\n}\n",
    Seq(
        nn.Conv1d(4, 6, 3),
        nn.MaxPool1d(2),
        nn.Conv1d(6, 6, 3),
        nn.AvgPool1d(2),
        nn.AdaptiveAvgPool1d(2),
        nn.Flatten(),
        nn.Linear(12, 5),
    ),
    floats(4, 20),
    onednn_off=[3],
)
case(
    "global pool",
    "model M(x: f32[3, 8, 8]) {\n  conv2d(4, 3)\n  adaptive_avg_pool2d(2)\n  conv2d(4, 1)\n  global_avg_pool\n  dense(2)\n}\n",
    Seq(
        nn.Conv2d(3, 4, 3),
        nn.AdaptiveAvgPool2d(2),
        nn.Conv2d(4, 4, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    ),
    floats(3, 8, 8),
    onednn_off=[3],
)
case(
    "embedding and residual blocks",
    "model M(tokens: token[7] of 50) {\n  embedding(50, 16)\n  repeat 3 {\n    residual {\n      layernorm\n"
    "      dense(32)\n      gelu\n      dense(16)\n    }\n  }\n  layernorm\n  dense(50)\n}\n",
    Seq(
        nn.Embedding(50, 16),
        *[Residual(Seq(nn.LayerNorm(16), nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))) for _ in range(3)],
        nn.LayerNorm(16),
        nn.Linear(16, 50),
    ),
    tokens(50, 7),
)


class ClassToken(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, d))

    def forward(self, x):
        return torch.cat([self.cls.expand(x.shape[0], 1, -1), x], dim=1)


class Positional(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(n, d))

    def forward(self, x):
        return x + self.pos[: x.shape[1]]


case(
    "tokens, positions, softsign, prelu, take",
    "model M(x: f32[s <= 6, 8]) {\n  dense(8)\n  class_token(8)\n  positional(7, 8)\n  softsign\n  dense(7)\n"
    "  prelu\n  take(0)\n  dense(5)\n}\n",
    Seq(
        nn.Linear(8, 8),
        ClassToken(8),
        Positional(7, 8),
        nn.Softsign(),
        nn.Linear(8, 7),
        nn.PReLU(),
        lambda x: x[:, 0],
        nn.Linear(7, 5),
    ),
    floats(6, 8),
)
case(
    "transposed convolution, mean",
    "model M(x: f32[2, 5, 5]) {\n  conv_transpose2d(3, 3, stride = 2)\n  mean\n  flatten\n  dense(4)\n}\n",
    Seq(nn.ConvTranspose2d(2, 3, 3, stride=2), lambda x: x.mean(1), nn.Flatten(), nn.Linear(121, 4)),
    floats(2, 5, 5),
)


class Views(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(8, 8)
        self.out = nn.Linear(48, 5)

    def forward(self, x):
        b = x.shape[0]
        p, q = self.dense(x).split(4, dim=-1)
        m = p * q
        del p, q
        t = m.transpose(1, 2)
        del m
        c = torch.cat([t, t], dim=1)
        del t
        return self.out(nn.Identity()(c).reshape(b, 48))


case(
    "split, mul, transpose, concat, identity, reshape",
    "model M(x: f32[s <= 6, 8]) {\n  h = x -> dense(8)\n  p, q = h -> split(2)\n  m = p * q\n"
    "  t = m -> transpose(0, 1)\n  c = [t, t] -> concat(axis = 0)\n  c -> identity -> reshape([48]) -> dense(5)\n}\n",
    Views(),
    floats(6, 8),
)


class LlamaRMSNorm(nn.Module):
    """RMSNorm as Hugging Face transformers writes it (src/transformers/models/llama/modeling_llama.py,
    `LlamaRMSNorm`): torch 1.13 has no nn.RMSNorm, so the standard formula
    x * rsqrt(mean(x^2, -1) + eps) * weight is measured (computed in fp32 here, so HF's casts are no-ops)."""

    def __init__(self, d, eps=1e-6, affine=True):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d)) if affine else None
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        return self.weight * x if self.weight is not None else x


def rotate_half(x):
    """HF modeling_llama `rotate_half`: the pairs (i, i + D/2), nnc's convention."""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class LlamaRotary(nn.Module):
    """HF modeling_llama `LlamaRotaryEmbedding` + `apply_rotary_pos_emb` (transformers >= 4.38): inv_freq
    a buffer, cos and sin made in forward from the position ids, [batch, T, D] each, and
    x * cos + rotate_half(x) * sin."""

    def __init__(self, d, theta=10_000.0):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (theta ** (torch.arange(0, d, 2).float() / d)), persistent=False)

    def cos_sin(self, x):
        b, t = x.shape[0], x.shape[-2]
        position_ids = torch.arange(t).unsqueeze(0).expand(b, -1)
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(b, -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded @ position_ids_expanded).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    def forward(self, x):
        cos, sin = self.cos_sin(x)
        return x * cos + rotate_half(x) * sin


case(
    "rmsnorm, rotary",
    "model M(x: f32[s <= 5, 8]) {\n  dense(8)\n  rmsnorm\n  dense(8)\n  rotary\n  dense(8)\n  rmsnorm(affine = false)\n"
    "  dense(4)\n}\n",
    Seq(
        nn.Linear(8, 8),
        LlamaRMSNorm(8),
        nn.Linear(8, 8),
        LlamaRotary(8),
        nn.Linear(8, 8),
        LlamaRMSNorm(8, affine=False),
        nn.Linear(8, 4),
    ),
    floats(5, 8),
)


class EagerAttention(nn.Module):
    """Self-attention as Hugging Face's eager path writes it (transformers modeling_llama `LlamaAttention`
    with attn_implementation="eager", `repeat_kv`, `eager_attention_forward`; GPT-2's fused `c_attn` split
    for qkv = fused): projections, heads [B, H, T, hd], rotary on q and k, k and v repeated for grouped
    heads, matmul(q, kᵀ) / √hd, + the causal mask, softmax in fp32, dropout, matmul with v, out-projection."""

    def __init__(self, d, heads, kv_heads=None, causal=False, bias=True, qkv="fused", rope=False, dropout=0.0):
        super().__init__()
        self.h, self.kv = heads, kv_heads or heads
        self.hd = d // heads
        self.q, self.k = self.h * self.hd, self.kv * self.hd
        self.fused = qkv == "fused"
        if self.fused:
            self.qkv_proj = nn.Linear(d, self.q + 2 * self.k, bias=bias)
        else:
            self.q_proj = nn.Linear(d, self.q, bias=bias)
            self.k_proj = nn.Linear(d, self.k, bias=bias)
            self.v_proj = nn.Linear(d, self.k, bias=bias)
        self.out_proj = nn.Linear(self.q, d, bias=bias)
        self.causal, self.rope, self.p = causal, rope, dropout
        if rope:
            self.rotary = LlamaRotary(self.hd)

    def forward(self, x):
        b, t, _ = x.shape
        if self.fused:
            q, k, v = self.qkv_proj(x).split([self.q, self.k, self.k], dim=-1)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.view(b, t, self.h, self.hd).transpose(1, 2)
        k = k.view(b, t, self.kv, self.hd).transpose(1, 2)
        v = v.view(b, t, self.kv, self.hd).transpose(1, 2)
        if self.rope:
            cos, sin = self.rotary.cos_sin(x)
            cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, self.h // self.kv), repeat_kv(v, self.h // self.kv)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        if self.causal:
            w = w + torch.full((t, t), float("-inf")).triu(1)
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        w = F.dropout(w, p=self.p, training=self.training)
        o = torch.matmul(w, v).transpose(1, 2).reshape(b, t, self.q)
        return self.out_proj(o)


def repeat_kv(x, n_rep):
    """HF modeling_llama `repeat_kv`: [B, KV, T, hd] → [B, KV·n_rep, T, hd]."""
    if n_rep == 1:
        return x
    b, kv, t, hd = x.shape
    return x[:, :, None, :, :].expand(b, kv, n_rep, t, hd).reshape(b, kv * n_rep, t, hd)


case(
    "attention: fused, causal",
    "model M(x: f32[s <= 5, 8]) {\n  attention(2, causal = true)\n  dense(4)\n}\n",
    Seq(EagerAttention(8, 2, causal=True), nn.Linear(8, 4)),
    floats(5, 8),
)
case(
    "attention: separate, grouped, rotary, dropout",
    "model M(x: f32[s <= 6, 8]) {\n  dense(8)\n  repeat 2 {\n"
    "    attention(4, kv_heads = 2, qkv = separate, rope = true, dropout = 0.1)\n  }\n  dense(4)\n}\n",
    Seq(
        nn.Linear(8, 8),
        *[EagerAttention(8, 4, kv_heads=2, qkv="separate", rope=True, dropout=0.1) for _ in range(2)],
        nn.Linear(8, 4),
    ),
    floats(6, 8),
)
case(
    "attention: one key-value head (repeat_kv is a view), fused and separate, rotary",
    "model M(x: f32[s <= 6, 8]) {\n  dense(8)\n  attention(2, kv_heads = 1, causal = true)\n"
    "  attention(4, kv_heads = 1, qkv = separate, rope = true)\n  dense(4)\n}\n",
    Seq(
        nn.Linear(8, 8),
        EagerAttention(8, 2, kv_heads=1, causal=True),
        EagerAttention(8, 4, kv_heads=1, qkv="separate", rope=True),
        nn.Linear(8, 4),
    ),
    floats(6, 8),
)


class Recurrent(nn.Module):
    """nn.RNN / nn.LSTM / nn.GRU over [batch, T, D] (batch_first, as nnc's values are laid out), the whole
    output sequence (nnc's `sequences = true`)."""

    def __init__(self, cls, *args, **kwargs):
        super().__init__()
        self.rnn = cls(*args, batch_first=True, **kwargs)

    def forward(self, x):
        return self.rnn(x)[0]


case(
    "recurrent layers",
    "model M(x: f32[s <= 5, 8]) {\n  rnn(6, nonlinearity = relu)\n  dense(8)\n  lstm(6, layers = 2)\n  dense(8)\n"
    "  gru(4, bidirectional = true, bias = false)\n  dense(8)\n  rnn(3, layers = 2, bidirectional = true)\n  mean\n"
    "  dense(3)\n}\n",
    Seq(
        Recurrent(nn.RNN, 8, 6, nonlinearity="relu"),
        nn.Linear(6, 8),
        Recurrent(nn.LSTM, 8, 6, num_layers=2),
        nn.Linear(6, 8),
        Recurrent(nn.GRU, 8, 4, bidirectional=True, bias=False),
        nn.Linear(8, 8),
        Recurrent(nn.RNN, 8, 3, num_layers=2, bidirectional=True),
        lambda x: x.mean(1),
        nn.Linear(6, 3),
    ),
    floats(5, 8),
)


class KerasRecurrent(nn.Module):
    """nnc's recurrent layers with `bias_convention = keras`: the cells as Keras defines them
    (https://keras.io/api/layers/recurrent_layers/ — SimpleRNNCell: h = act(x·W + b + h·U); LSTMCell:
    z = x·W + h·U + b split into i, f, c, o, c = σ(f)·c + σ(i)·tanh(c̃), h = σ(o)·tanh(c); GRUCell with
    reset_after = True, the TF2 default: x·W + b_in and h·U + b_rec split into z, r, h, z = σ(x_z + r_z),
    r = σ(x_r + r_r), h̃ = tanh(x_h + r·r_h), h = z·h + (1 − z)·h̃), stepped over a batch-major input as Keras's
    RNN loop does, the reverse direction over the reversed steps (Bidirectional), zero initial states.
    Layers below the last return their sequences (stacked, the directions concatenated); `sequences`
    False returns the last step's h of each direction (the reverse one's after position 0)."""

    def __init__(self, kind, d, hidden, layers=1, bidirectional=False, bias=True, sequences=True, nonlinearity="tanh"):
        super().__init__()
        self.kind, self.h, self.layers, self.sequences = kind, hidden, layers, sequences
        self.dirs = 2 if bidirectional else 1
        self.act = torch.relu if nonlinearity == "relu" else torch.tanh
        g = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
        self.kernel, self.recurrent_kernel, self.bias, self.recurrent_bias = (nn.ParameterList() for _ in range(4))
        for l in range(layers):
            width = d if l == 0 else hidden * self.dirs
            for _ in range(self.dirs):
                self.kernel.append(nn.Parameter(torch.randn(width, g * hidden) * 0.3))
                self.recurrent_kernel.append(nn.Parameter(torch.randn(hidden, g * hidden) * 0.3))
                if bias:
                    self.bias.append(nn.Parameter(torch.randn(g * hidden) * 0.1))
                    if kind == "gru":
                        self.recurrent_bias.append(nn.Parameter(torch.randn(g * hidden) * 0.1))
        self.use_bias = bias

    def step(self, k, x_t, state):
        W, U = self.kernel[k], self.recurrent_kernel[k]
        if self.kind == "rnn":
            (h,) = state
            z = x_t @ W
            if self.use_bias: z = z + self.bias[k]
            h = self.act(z + h @ U)
            return h, (h,)
        if self.kind == "lstm":
            h, c = state
            z = x_t @ W + h @ U
            if self.use_bias: z = z + self.bias[k]
            z0, z1, z2, z3 = z.split(self.h, dim=-1)
            i, f, o = torch.sigmoid(z0), torch.sigmoid(z1), torch.sigmoid(z3)
            c = f * c + i * torch.tanh(z2)
            h = o * torch.tanh(c)
            return h, (h, c)
        (h,) = state
        mx = x_t @ W
        mi = h @ U
        if self.use_bias:
            mx = mx + self.bias[k]
            mi = mi + self.recurrent_bias[k]
        x_z, x_r, x_h = mx.split(self.h, dim=-1)
        r_z, r_r, r_h = mi.split(self.h, dim=-1)
        z = torch.sigmoid(x_z + r_z)
        r = torch.sigmoid(x_r + r_r)
        hh = torch.tanh(x_h + r * r_h)
        h = z * h + (1 - z) * hh
        return h, (h,)

    def forward(self, x):
        # Each value freed after its last reader (as nnc's inference peak assumes): a direction's steps once
        # stacked, its states once stepped, a layer's output once the layer above has read it; the last
        # layer of `sequences` False keeps only its last state (no stack). The cell's locals live until it
        # returns.
        b, t, _ = x.shape
        for l in range(self.layers):
            last_only = l + 1 == self.layers and not self.sequences
            outs = []
            for d in range(self.dirs):
                k = l * self.dirs + d
                state = tuple(x.new_zeros(b, self.h) for _ in range(2 if self.kind == "lstm" else 1))
                hs = []
                for s in range(t) if d == 0 else reversed(range(t)):
                    state = self.step(k, x[:, s], state)[1]
                    if not last_only:
                        hs.append(state[0])
                outs.append(state[0] if last_only else torch.stack(hs if d == 0 else hs[::-1], dim=1))
                del state, hs
            x = outs[0] if self.dirs == 1 else torch.cat(outs, dim=-1)
            del outs
        return x


class Branches(nn.Module):
    """h = dense(x), then branches read h, each ending in its own Linear, summed: `output a + b + c`."""

    def __init__(self, first, *branches):
        super().__init__()
        self.first = first
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        h = self.first(x)
        return sum(b(h) for b in self.branches)


class LastStep(nn.Module):
    """nnc's `sequences = false` in PyTorch: h_n of the last layer, `h_n[-1]` (a view of the stacked
    h_n), or `cat(h_n[-2], h_n[-1])` with both directions."""

    def __init__(self, cls, *args, **kwargs):
        super().__init__()
        self.rnn = cls(*args, batch_first=True, **kwargs)
        self.bi = kwargs.get("bidirectional", False)

    def forward(self, x):
        _, h = self.rnn(x)
        if isinstance(h, tuple):
            h = h[0]
        return torch.cat((h[-2], h[-1]), dim=-1) if self.bi else h[-1]


case(
    "recurrent layers: last step only",
    "model M(x: f32[s <= 5, 8]) {\n  h = x -> dense(8)\n  a = h -> lstm(6, layers = 2, sequences = false) -> dense(4)\n"
    "  b = h -> gru(4, bidirectional = true, sequences = false) -> dense(4)\n"
    "  c = h -> rnn(5, layers = 2, sequences = false) -> dense(4)\n  output a + b + c\n}\n",
    Branches(
        nn.Linear(8, 8),
        Seq(LastStep(nn.LSTM, 8, 6, num_layers=2), nn.Linear(6, 4)),
        Seq(LastStep(nn.GRU, 8, 4, bidirectional=True), nn.Linear(8, 4)),
        Seq(LastStep(nn.RNN, 8, 5, num_layers=2), nn.Linear(5, 4)),
    ),
    floats(5, 8),
)
case(
    "recurrent layers: Keras's cells",
    "model M(x: f32[s <= 5, 8]) {\n"
    "  h = x -> dense(8) -> rnn(5, layers = 2, bidirectional = true, nonlinearity = relu, bias_convention = keras)"
    " -> lstm(6, bias_convention = keras) -> gru(4, layers = 2, bias = false, bias_convention = keras)\n"
    "  a = h -> rnn(5, sequences = false, bias_convention = keras) -> dense(4)\n"
    "  b = h -> lstm(6, layers = 2, bidirectional = true, sequences = false, bias_convention = keras) -> dense(4)\n"
    "  c = h -> gru(4, sequences = false, bias_convention = keras) -> dense(4)\n"
    "  d = h -> rnn(3, bidirectional = true, sequences = false, bias_convention = keras) -> dense(4)\n"
    "  output a + b + c + d\n}\n",
    Branches(
        Seq(
            nn.Linear(8, 8),
            KerasRecurrent("rnn", 8, 5, layers=2, bidirectional=True, nonlinearity="relu"),
            KerasRecurrent("lstm", 10, 6),
            KerasRecurrent("gru", 6, 4, layers=2, bias=False),
        ),
        Seq(KerasRecurrent("rnn", 4, 5, sequences=False), nn.Linear(5, 4)),
        Seq(KerasRecurrent("lstm", 4, 6, layers=2, bidirectional=True, sequences=False), nn.Linear(12, 4)),
        Seq(KerasRecurrent("gru", 4, 4, sequences=False), nn.Linear(4, 4)),
        Seq(KerasRecurrent("rnn", 4, 3, bidirectional=True, sequences=False), nn.Linear(6, 4)),
    ),
    floats(5, 8),
)


class DenseMoE(nn.Module):
    """nnc's `moe(experts, top_k)`: a router Linear, softmax → topk → divide by the sum (Mixtral's routing:
    HF modeling_mixtral `MixtralSparseMoeBlock`), but, as nnc computes it, every expert on every token, the
    selected outputs gathered and mixed: sum_k w_k · expert_{i_k}(x)."""

    def __init__(self, d, experts, top_k, make):
        super().__init__()
        self.gate = nn.Linear(d, experts, bias=False)
        self.experts = nn.ModuleList([make() for _ in range(experts)])
        self.k = top_k

    def forward(self, x):
        probs = F.softmax(self.gate(x), dim=-1)
        w, idx = probs.topk(self.k, dim=-1)
        w = w / w.sum(dim=-1, keepdim=True)
        outs = torch.stack([e(x) for e in self.experts], dim=-2)
        sel = outs.gather(-2, idx.unsqueeze(-1).expand(*idx.shape, outs.shape[-1]))
        return (w.unsqueeze(-1) * sel).sum(dim=-2)


case(
    "moe routing",
    "model M(x: f32[s <= 5, 8]) {\n  dense(8)\n  moe(4, 2) {\n    tanh\n    dense(8)\n  }\n  dense(3)\n}\n",
    Seq(nn.Linear(8, 8), DenseMoE(8, 4, 2, lambda: Seq(nn.Tanh(), nn.Linear(8, 8))), nn.Linear(8, 3)),
    floats(5, 8),
)


case(
    "relu6, hardswish, instancenorm, pixel_shuffle",
    "model M(x: f32[8, 4, 4]) {\n  conv2d(8, 1)\n  relu6\n  conv2d(8, 1)\n  hardswish\n  conv2d(8, 1)\n  instancenorm\n"
    "  conv2d(8, 1)\n  instancenorm(affine = true)\n  pixel_shuffle(2)\n  flatten\n  dense(3)\n}\n",
    Seq(
        nn.Conv2d(8, 8, 1),
        nn.ReLU6(),
        nn.Conv2d(8, 8, 1),
        nn.Hardswish(),
        nn.Conv2d(8, 8, 1),
        nn.InstanceNorm2d(8),
        nn.Conv2d(8, 8, 1),
        nn.InstanceNorm2d(8, affine=True),
        nn.PixelShuffle(2),
        nn.Flatten(),
        nn.Linear(128, 3),
    ),
    floats(8, 4, 4),
)

case(
    "norms and pools",
    "model M(x: f32[8, 6, 6]) {\n  batchnorm\n  relu6\n  max_pool2d(2)\n  groupnorm(2)\n  hardswish\n"
    "  instancenorm(affine = true)\n  pixel_shuffle(2)\n  instancenorm\n  adaptive_avg_pool2d(2)\n  global_avg_pool\n"
    "  flatten\n  dense(3)\n}\n",
    Seq(
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.MaxPool2d(2),
        nn.GroupNorm(2, 8),
        nn.Hardswish(),
        nn.InstanceNorm2d(8, affine=True),
        nn.PixelShuffle(2),
        nn.InstanceNorm2d(2),
        nn.AdaptiveAvgPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2, 3),
    ),
    floats(8, 6, 6),
)
case(
    "pools, 1-d",
    "model M(x: f32[80]) {\n  dense(80)\n  reshape([4, 20])\n  max_pool1d(2)\n  avg_pool1d(2)\n"
    "  adaptive_avg_pool1d(2)\n  mean\n  dense(5)\n}\n",
    Seq(
        nn.Linear(80, 80),
        lambda x: x.reshape(x.shape[0], 4, 20),
        nn.MaxPool1d(2),
        nn.AvgPool1d(2),
        nn.AdaptiveAvgPool1d(2),
        lambda x: x.mean(1),
        nn.Linear(2, 5),
    ),
    floats(80),
)

case(
    "rmsnorm",
    "model M(x: f32[s <= 5, 8]) {\n  dense(8)\n  rmsnorm\n  dense(8)\n  rmsnorm(affine = false)\n  dense(4)\n}\n",
    Seq(nn.Linear(8, 8), LlamaRMSNorm(8), nn.Linear(8, 8), LlamaRMSNorm(8, affine=False), nn.Linear(8, 4)),
    floats(5, 8),
)

case(
    "embedding, layernorm",
    "model M(tokens: token[7] of 50) {\n  embedding(50, 16)\n  layernorm\n  dense(8)\n}\n",
    Seq(nn.Embedding(50, 16), nn.LayerNorm(16), nn.Linear(16, 8)),
    tokens(50, 7),
)
case(
    "a repeat inside a residual",
    "model M(x: f32[s <= 6, 8]) {\n  dense(16)\n  residual {\n    repeat 3 {\n      layernorm\n      dense(16)\n"
    "      gelu\n    }\n  }\n  dense(4)\n}\n",
    Seq(
        nn.Linear(8, 16),
        Residual(Seq(*[m for _ in range(3) for m in (nn.LayerNorm(16), nn.Linear(16, 16), nn.GELU())])),
        nn.Linear(16, 4),
    ),
    floats(6, 8),
)

case(
    "attention: separate, grouped, dropout, no bias",
    "model M(x: f32[s <= 6, 8]) {\n  dense(8)\n"
    "  attention(4, kv_heads = 2, qkv = separate, dropout = 0.1, bias = false)\n"
    "  dense(4)\n}\n",
    Seq(nn.Linear(8, 8), EagerAttention(8, 4, kv_heads=2, qkv="separate", dropout=0.1, bias=False), nn.Linear(8, 4)),
    floats(6, 8),
)
case(
    "attention: fused, grouped, causal, in a residual",
    "model M(x: f32[s <= 7, 12]) {\n  dense(12)\n  residual {\n    layernorm\n"
    "    attention(6, kv_heads = 3, causal = true)\n"
    "  }\n  dense(4)\n}\n",
    Seq(
        nn.Linear(12, 12),
        Residual(Seq(nn.LayerNorm(12), EagerAttention(12, 6, kv_heads=3, causal=True))),
        nn.Linear(12, 4),
    ),
    floats(7, 12),
)
case(
    "attention: separate, not causal",
    "model M(x: f32[s <= 4, 6]) {\n  dense(6)\n  attention(3, qkv = separate)\n  dense(2)\n}\n",
    Seq(nn.Linear(6, 6), EagerAttention(6, 3, qkv="separate"), nn.Linear(6, 2)),
    floats(4, 6),
)

case(
    "attention: fused, rotary, causal",
    "model M(x: f32[s <= 5, 12]) {\n  dense(12)\n  attention(3, rope = true, causal = true)\n  dense(4)\n}\n",
    Seq(nn.Linear(12, 12), EagerAttention(12, 3, rope=True, causal=True), nn.Linear(12, 4)),
    floats(5, 12),
)

case(
    "moe with wide experts",
    "model M(x: f32[s <= 4, 8]) {\n  dense(8)\n  moe(3, 1) {\n    tanh\n    dense(64)\n    gelu\n    dense(8)\n  }\n"
    "  dense(3)\n}\n",
    Seq(
        nn.Linear(8, 8),
        DenseMoE(8, 3, 1, lambda: Seq(nn.Tanh(), nn.Linear(8, 64), nn.GELU(), nn.Linear(64, 8))),
        nn.Linear(8, 3),
    ),
    floats(4, 8),
)

case(
    "recurrent layers, more",
    "model M(x: f32[s <= 3, 6]) {\n  lstm(4, bidirectional = true)\n  dense(6)\n  gru(5, layers = 2)\n  dense(6)\n"
    "  rnn(3, bias = false)\n  dense(2)\n}\n",
    Seq(
        Recurrent(nn.LSTM, 6, 4, bidirectional=True),
        nn.Linear(8, 6),
        Recurrent(nn.GRU, 6, 5, num_layers=2),
        nn.Linear(5, 6),
        Recurrent(nn.RNN, 6, 3, bias=False),
        nn.Linear(3, 2),
    ),
    floats(3, 6),
)
case(
    "recurrent layers, one step",
    "model M(x: f32[s <= 1, 6]) {\n  dense(6)\n  lstm(4, layers = 2)\n  dense(2)\n}\n",
    Seq(nn.Linear(6, 6), Recurrent(nn.LSTM, 6, 4, num_layers=2), nn.Linear(4, 2)),
    floats(1, 6),
)

case(
    "recurrent layers, one after another",
    "model M(x: f32[s <= 4, 6]) {\n  dense(6)\n  lstm(5)\n  gru(3, bidirectional = true)\n  dense(2)\n}\n",
    Seq(nn.Linear(6, 6), Recurrent(nn.LSTM, 6, 5), Recurrent(nn.GRU, 5, 3, bidirectional=True), nn.Linear(6, 2)),
    floats(4, 6),
)

from torchvision.ops import StochasticDepth  # noqa: E402  (torchvision 0.14, with torch 1.13)

case(
    "conv3d, 3-D pools, batchnorm on [C, D, H, W], drop_path, upsample, conv_transpose1d",
    "model M(x: f32[3, 4, 6, 6]) {\n  conv3d(8, 3, padding = 1)\n  batchnorm\n  max_pool3d(2)\n  conv3d(8, [1, 2, 2])\n"
    "  avg_pool3d([1, 2, 1])\n  adaptive_avg_pool3d(2)\n  drop_path(0.2)\n  reshape([8, 2, 4])\n"
    "  upsample(scale_factor = 2, mode = bilinear)\n  upsample(size = [5, 9])\n  relu\n  drop_path(0)\n"
    "  reshape([40, 9])\n  conv_transpose1d(4, 3, stride = 2)\n  drop_path(0.1, mode = batch)\n  flatten\n"
    "  dense(3)\n}\n",
    Seq(
        nn.Conv3d(3, 8, 3, padding=1),
        nn.BatchNorm3d(8),
        nn.MaxPool3d(2),
        nn.Conv3d(8, 8, (1, 2, 2)),
        nn.AvgPool3d((1, 2, 1)),
        nn.AdaptiveAvgPool3d(2),
        StochasticDepth(0.2, "row"),
        lambda x: x.reshape(x.shape[0], 8, 2, 4),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Upsample(size=(5, 9)),
        nn.ReLU(),
        StochasticDepth(0.0, "row"),
        lambda x: x.reshape(x.shape[0], 40, 9),
        nn.ConvTranspose1d(40, 4, 3, stride=2),
        StochasticDepth(0.1, "batch"),
        nn.Flatten(),
        nn.Linear(76, 3),
    ),
    floats(3, 4, 6, 6),
    onednn_off=[3],
)

case(
    "lstm with a projection",
    "model M(x: f32[s <= 5, 8]) {\n  lstm(6, proj_size = 3, layers = 2, bidirectional = true)\n  dense(8)\n"
    "  lstm(7, proj_size = 2)\n  mean\n  dense(3)\n}\n",
    Seq(
        Recurrent(nn.LSTM, 8, 6, proj_size=3, num_layers=2, bidirectional=True),
        nn.Linear(6, 8),
        Recurrent(nn.LSTM, 8, 7, proj_size=2),
        lambda x: x.mean(1),
        nn.Linear(2, 3),
    ),
    floats(5, 8),
)


class Broadcasting(nn.Module):
    """Value arithmetic that broadcasts, as nnc's `*`, `-`, `+` on per-sample shapes (the batch axis always
    matches: [N, 4, 3, 3] with [N, 4, 1, 1]), a squeeze-and-excitation gate, and torch.abs."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)
        self.fc1 = nn.Conv2d(4, 2, 1)
        self.fc2 = nn.Conv2d(2, 4, 1)
        self.out = nn.Linear(36, 5)

    def forward(self, x):
        h = self.conv(x)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(h, [1, 1])))))
        g = h * s
        del h  # each value freed after its last reader, as nnc's peak assumes
        d = g - s
        del g
        e = d + s
        del d, s
        a = torch.abs(e)
        del e
        return self.out(a.flatten(1))


case(
    "broadcasting mul, sub, add; abs",
    "model M(x: f32[4, 3, 3]) {\n  h = x -> conv2d(4, 1)\n"
    "  s = h -> adaptive_avg_pool2d([1, 1]) -> conv2d(2, 1) -> relu -> conv2d(4, 1) -> sigmoid\n"
    "  g = h * s\n  d = g - s\n  d + s -> abs -> flatten -> dense(5)\n}\n",
    Broadcasting(),
    floats(4, 3, 3),
)


class BroadcastingDense(nn.Module):
    """Broadcasting arithmetic after a Linear, with no convolution (so the inference peak is replayed too):
    nnc's per-sample [s, 6] with [6] is [N, s, 6] with [N, 1, 6] in PyTorch."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 6)
        self.out = nn.Linear(6, 5)

    def forward(self, x):
        h = self.lin(x)
        s = torch.sigmoid(h.mean(1)).unsqueeze(1)
        t = h * s
        del h  # each value freed after its last reader, as nnc's peak assumes
        d = t - s
        del t
        e = d + s
        del d, s
        a = torch.abs(e)
        del e
        return self.out(a.mean(1))


case(
    "broadcasting after a dense",
    "model M(x: f32[s <= 4, 6]) {\n  h = x -> dense(6)\n  s = h -> mean -> sigmoid\n"
    "  d = h * s - s\n  d + s -> abs -> mean -> dense(5)\n}\n",
    BroadcastingDense(),
    floats(4, 6),
)

case(
    "lstm with a projection, last step only",
    "model M(x: f32[s <= 5, 8]) {\n  lstm(6, proj_size = 3, layers = 2, sequences = false)\n  dense(3)\n}\n",
    Seq(LastStep(nn.LSTM, 8, 6, proj_size=3, num_layers=2), nn.Linear(3, 3)),
    floats(5, 8),
)


case(
    "3-D pools, batchnorm on [C, D, H, W], drop_path, upsample (no convolution)",
    "model M(x: f32[3, 4, 6, 6]) {\n  batchnorm\n  max_pool3d(2)\n  relu\n  avg_pool3d([1, 2, 1])\n"
    "  adaptive_avg_pool3d(2)\n  drop_path(0.2)\n  reshape([6, 2, 2])\n  upsample(scale_factor = 2, mode = bilinear)\n"
    "  upsample(size = [5, 9])\n  drop_path(0.1, mode = batch)\n  flatten\n  dense(3)\n}\n",
    Seq(
        nn.BatchNorm3d(3),
        nn.MaxPool3d(2),
        nn.ReLU(),
        nn.AvgPool3d((1, 2, 1)),
        nn.AdaptiveAvgPool3d(2),
        StochasticDepth(0.2, "row"),
        lambda x: x.reshape(x.shape[0], 6, 2, 2),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Upsample(size=(5, 9)),
        StochasticDepth(0.1, "batch"),
        nn.Flatten(),
        nn.Linear(270, 3),
    ),
    floats(3, 4, 6, 6),
)


case(
    "upsample, nearest and bilinear with align_corners",
    "model M(x: f32[2, 3, 5]) {\n  batchnorm\n  upsample(scale_factor = 3)\n  relu\n"
    "  upsample(size = [4, 7], mode = bilinear, align_corners = true)\n  flatten\n  dense(2)\n}\n",
    Seq(
        nn.BatchNorm2d(2),
        nn.Upsample(scale_factor=3),
        nn.ReLU(),
        nn.Upsample(size=(4, 7), mode="bilinear", align_corners=True),
        nn.Flatten(),
        nn.Linear(56, 2),
    ),
    floats(2, 3, 5),
)


case(
    "lstm, three layers, last step only, then a wide layer",
    "model M(x: f32[s <= 5, 8]) {\n  lstm(6, layers = 3, sequences = false)\n  dense(512)\n  dense(4)\n}\n",
    Seq(LastStep(nn.LSTM, 8, 6, num_layers=3), nn.Linear(6, 512), nn.Linear(512, 4)),
    floats(5, 8),
)

case(
    "recurrent layers: Keras's cells, one after another",
    "model M(x: f32[s <= 5, 8]) {\n  dense(8)\n  gru(4, bidirectional = true, bias_convention = keras)\n  dense(6)\n"
    "  lstm(5, layers = 2, bias_convention = keras)\n  rnn(4)\n  rnn(3, sequences = false, bias_convention = keras)\n"
    "  dense(3)\n}\n",
    Seq(
        nn.Linear(8, 8),
        KerasRecurrent("gru", 8, 4, bidirectional=True),
        nn.Linear(8, 6),
        KerasRecurrent("lstm", 6, 5, layers=2),
        Recurrent(nn.RNN, 5, 4),
        KerasRecurrent("rnn", 4, 3, sequences=False),
        nn.Linear(3, 3),
    ),
    floats(5, 8),
)

case(
    "lstm with a projection, both directions, last step only",
    "model M(x: f32[s <= 5, 8]) {\n  lstm(6, proj_size = 2, bidirectional = true, sequences = false)\n  dense(3)\n}\n",
    Seq(LastStep(nn.LSTM, 8, 6, proj_size=2, bidirectional=True), nn.Linear(4, 3)),
    floats(5, 8),
)

case(
    "transposed convolutions: groups, dilation, no bias, pairs, 1-d",
    "model M(x: f32[4, 5, 5]) {\n  conv_transpose2d(6, 3, groups = 2, dilation = 2)\n  relu\n"
    "  conv_transpose2d(3, [2, 3], stride = [1, 2], padding = 1, output_padding = [0, 1], bias = false)\n"
    "  reshape([24, 18])\n  conv_transpose1d(4, 7, groups = 2)\n  flatten\n  dense(3)\n}\n",
    Seq(
        nn.ConvTranspose2d(4, 6, 3, groups=2, dilation=2),
        nn.ReLU(),
        nn.ConvTranspose2d(6, 3, (2, 3), stride=(1, 2), padding=1, output_padding=(0, 1), bias=False),
        lambda x: x.reshape(x.shape[0], 24, 18),
        nn.ConvTranspose1d(24, 4, 7, groups=2),
        nn.Flatten(),
        nn.Linear(96, 3),
    ),
    floats(4, 5, 5),
)

class BareParameters(nn.Module):
    """nnc's `parameter`: bare nn.Parameters read in expressions (a positional table added, a LayerScale
    gamma multiplied, a shift subtracted), broadcast over the batch; each value freed after its last reader."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(3, 4) * 0.02)
        self.lin = nn.Linear(4, 4)
        self.gamma = nn.Parameter(torch.ones(4))
        self.shift = nn.Parameter(torch.zeros(4))
        self.out = nn.Linear(12, 3)

    def forward(self, x):
        y = x.reshape(x.shape[0], 3, 4) + self.pos
        z = self.lin(y)
        del y
        t = z * self.gamma
        del z
        u = t - self.shift
        del t
        return self.out(u.flatten(1))


case(
    "bare parameters in expressions",
    "model M(x: f32[12]) {\n  pos = parameter([3, 4], init = normal, scale = 0.02)\n  h = x -> reshape([3, 4])\n"
    "  y = h + pos -> dense(4)\n  gamma = parameter(4, init = ones)\n  shift = parameter(4)\n"
    "  y * gamma - shift -> flatten -> dense(3)\n}\n",
    BareParameters(),
    floats(12),
)

class EagerCrossAttention(nn.Module):
    """Cross-attention as Hugging Face's eager path writes it (BART/Whisper `encoder_attn`: q from x, k and
    v from the memory; `qkv = fused` as GPT-2's cross-attention, `q_attn` on x and one `c_attn` on the
    memory split into k and v), then as EagerAttention without a mask or rotary: k and v repeated for
    grouped heads, matmul(q, kᵀ) / √hd, softmax in fp32, dropout, matmul with v, out-projection."""

    def __init__(self, d, heads, kv_heads=None, bias=True, qkv="fused", dropout=0.0, kdim=None):
        super().__init__()
        self.h, self.kv = heads, kv_heads or heads
        self.hd = d // heads
        self.q, self.k = self.h * self.hd, self.kv * self.hd
        self.fused = qkv == "fused"
        kdim = kdim or d
        self.q_proj = nn.Linear(d, self.q, bias=bias)
        if self.fused:
            self.kv_proj = nn.Linear(kdim, 2 * self.k, bias=bias)
        else:
            self.k_proj = nn.Linear(kdim, self.k, bias=bias)
            self.v_proj = nn.Linear(kdim, self.k, bias=bias)
        self.out_proj = nn.Linear(self.q, d, bias=bias)
        self.p = dropout

    def forward(self, x, memory):
        b, t, _ = x.shape
        s = memory.shape[1]
        q = self.q_proj(x)
        if self.fused:
            k, v = self.kv_proj(memory).split([self.k, self.k], dim=-1)
        else:
            k, v = self.k_proj(memory), self.v_proj(memory)
        q = q.view(b, t, self.h, self.hd).transpose(1, 2)
        k = k.view(b, s, self.kv, self.hd).transpose(1, 2)
        v = v.view(b, s, self.kv, self.hd).transpose(1, 2)
        k, v = repeat_kv(k, self.h // self.kv), repeat_kv(v, self.h // self.kv)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        w = F.dropout(w, p=self.p, training=self.training)
        o = torch.matmul(w, v).transpose(1, 2).reshape(b, t, self.q)
        return self.out_proj(o)


class CrossBlock(nn.Module):
    """x and a memory each through a Linear, cross-attention, a Linear; each value freed after its last reader."""

    def __init__(self, d, kdim, attn):
        super().__init__()
        self.a, self.b, self.attn, self.out = nn.Linear(d, d), nn.Linear(kdim, kdim), attn, nn.Linear(d, 4)

    def forward(self, x, memory):
        h, m = self.a(x), self.b(memory)
        o = self.attn(h, m)
        del h, m
        return self.out(o)


def two(t, s, d, kdim):
    return lambda: (torch.randn(BATCH, t, d), torch.randn(BATCH, s, kdim))


for label, opts, args in [
    ("fused", "", {}),
    ("fused, grouped heads", "", {"heads": 4, "kv_heads": 2}),
    ("separate projections, grouped heads, dropout", ", kv_heads = 1, qkv = separate, dropout = 0.1", {"kv_heads": 1, "qkv": "separate", "dropout": 0.1}),
    ("fused, kdim, no bias", ", kdim = 6, vdim = 6, bias = false", {"kdim": 6, "bias": False}),
]:
    kdim = args.get("kdim", 8)
    heads = args.pop("heads", 2)
    grouped = f", kv_heads = {args['kv_heads']}" if heads != 2 else ""
    case(
        f"cross-attention: {label}",
        f"model M(x: f32[t <= 4, 8], memory: f32[s <= 6, {kdim}]) {{\n  h = x -> dense(8)\n  m = memory -> dense({kdim})\n"
        f"  [h, m] -> attention({heads}{grouped}{opts})\n  dense(4)\n}}\n",
        CrossBlock(8, kdim, EagerCrossAttention(8, heads, **args)),
        two(4, 6, 8, kdim),
    )

# Convolutions on ATen's own kernels (src/count/eager-peak.ts `nativeConv`): PyTorch 1.13's
# ConvParams::use_mkldnn leaves a convolution off oneDNN with one thread when it is 1×1, unstrided,
# undilated and the batch is under 16, or at batch 1 with no groups, not both last kernel sizes above 3 and
# N·C·size(2)·size(3) ≤ 20480. The rest run on oneDNN (named, not estimated): the last cases keep one each.
# `onednn_off` measures a case again with oneDNN disabled, where every convolution runs on ATen's kernels
# (the convention of nnc's figure for a model with convolutions on oneDNN).
case(
    "conv2d at batch 1: im2col columns, stride, no bias",
    "model M(x: f32[3, 16, 16]) {\n  conv2d(8, 3, padding = 1)\n  relu\n  conv2d(8, 3, stride = 2, bias = false)\n"
    "  conv2d(6, [3, 2], stride = [1, 2])\n  flatten\n  dense(4)\n}\n",
    Seq(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, bias=False),
        nn.Conv2d(8, 6, (3, 2), stride=(1, 2)),
        nn.Flatten(),
        nn.Linear(6 * 5 * 3, 4),
    ),
    floats(3, 16, 16),
    batch=1,
    onednn_off=[3, 16],
)
for b in [1, 2, 3]:
    case(
        f"1×1 conv2d at batch {b}: padding, groups, no bias",
        "model M(x: f32[8, 5, 5]) {\n  conv2d(8, 1)\n  relu\n  conv2d(8, 1, padding = 1, groups = 2)\n"
        "  conv2d(6, 1, groups = 2, bias = false)\n  conv2d(4, 1, padding = [0, 1], bias = false)\n"
        "  conv2d(2, 1, padding = 1, groups = 2)\n  flatten\n  dense(3)\n}\n",
        Seq(
            nn.Conv2d(8, 8, 1),
            nn.ReLU(),
            nn.Conv2d(8, 8, 1, padding=1, groups=2),
            nn.Conv2d(8, 6, 1, groups=2, bias=False),
            nn.Conv2d(6, 4, 1, padding=(0, 1), bias=False),
            nn.Conv2d(4, 2, 1, padding=1, groups=2),
            nn.Flatten(),
            nn.Linear(2 * 9 * 11, 3),
        ),
        floats(8, 5, 5),
        batch=b,
        onednn_off=[16] if b == 3 else [],
    )
case(
    "conv1d at batch 1: padding, dilation, stride, groups, no bias",
    "model M(x: f32[4, 20]) {\n  conv1d(6, 3, padding = 1)\n  relu\n  conv1d(6, 3, dilation = 2)\n"
    "  conv1d(6, 5, stride = 2, padding = 2, bias = false)\n  conv1d(4, 1, groups = 2)\n  flatten\n  dense(3)\n}\n",
    Seq(
        nn.Conv1d(4, 6, 3, padding=1),
        nn.ReLU(),
        nn.Conv1d(6, 6, 3, dilation=2),
        nn.Conv1d(6, 6, 5, stride=2, padding=2, bias=False),
        nn.Conv1d(6, 4, 1, groups=2),
        nn.Flatten(),
        nn.Linear(4 * 8, 3),
    ),
    floats(4, 20),
    batch=1,
    onednn_off=[3, 16],
)
case(
    "conv2d at batch 1: dilation, padding modes, same",
    "model M(x: f32[4, 8, 8]) {\n  conv2d(6, 3, dilation = 2, padding = 2)\n  conv2d(6, 3, padding = 1, padding_mode = reflect)\n"
    "  relu\n  conv2d(6, 3, padding = 1, padding_mode = replicate)\n  conv2d(6, [3, 2], padding = same, padding_mode = circular)\n"
    "  conv2d(5, 1, padding_mode = reflect)\n  conv2d(4, 2, padding = same, bias = false)\n  flatten\n  dense(3)\n}\n",
    Seq(
        nn.Conv2d(4, 6, 3, dilation=2, padding=2),
        nn.Conv2d(6, 6, 3, padding=1, padding_mode="reflect"),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1, padding_mode="replicate"),
        nn.Conv2d(6, 6, (3, 2), padding="same", padding_mode="circular"),
        nn.Conv2d(6, 5, 1, padding_mode="reflect"),
        nn.Conv2d(5, 4, 2, padding="same", bias=False),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 3),
    ),
    floats(4, 8, 8),
    batch=1,
    onednn_off=[3, 16],
)
case(
    "conv3d at batch 1: columns, groups, dilation, no bias",
    "model M(x: f32[4, 3, 4, 4]) {\n  conv3d(6, 3, padding = 1)\n  relu\n  conv3d(6, [3, 1, 1], groups = 2)\n"
    "  conv3d(6, 3, dilation = 2, padding = 2, bias = false)\n  conv3d(4, 1)\n  flatten\n  dense(3)\n}\n",
    Seq(
        nn.Conv3d(4, 6, 3, padding=1),
        nn.ReLU(),
        nn.Conv3d(6, 6, (3, 1, 1), groups=2),
        nn.Conv3d(6, 6, 3, dilation=2, padding=2, bias=False),
        nn.Conv3d(6, 4, 1),
        nn.Flatten(),
        nn.Linear(4 * 1 * 4 * 4, 3),
    ),
    floats(4, 3, 4, 4),
    batch=1,
    onednn_off=[3, 16],
)
case(
    "1×1×1 conv3d at batch 3: groups, padding",
    "model M(x: f32[4, 2, 3, 3]) {\n  conv3d(6, 1)\n  conv3d(6, 1, groups = 2)\n  relu\n  conv3d(4, 1, padding = 1, bias = false)\n"
    "  flatten\n  dense(3)\n}\n",
    Seq(
        nn.Conv3d(4, 6, 1),
        nn.Conv3d(6, 6, 1, groups=2),
        nn.ReLU(),
        nn.Conv3d(6, 4, 1, padding=1, bias=False),
        nn.Flatten(),
        nn.Linear(4 * 4 * 5 * 5, 3),
    ),
    floats(4, 2, 3, 3),
    onednn_off=[16],
)
case(
    "a small CNN at batch 1, every convolution on ATen's kernels",
    "model M(x: f32[3, 32, 32]) {\n  conv2d(16, 3, padding = 1)\n  batchnorm\n  relu\n  max_pool2d(2)\n"
    "  conv2d(32, 3, padding = 1)\n  batchnorm\n  relu\n  max_pool2d(2)\n  conv2d(64, 3, padding = 1)\n  relu\n"
    "  conv2d(64, 1)\n  relu\n  global_avg_pool\n  dense(10)\n}\n",
    Seq(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 1),
        nn.ReLU(),
        lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1),  # global_avg_pool: one step, as nnc's
        nn.Linear(64, 10),
    ),
    floats(3, 32, 32),
    batch=1,
    onednn_off=[8],
)
# Dilated grouped convolutions reach ATen's slow_conv_dilated2d/3d only with oneDNN disabled (once per
# group, each group's input made contiguous from batch 2).
case(
    "dilated grouped convolutions",
    "model M(x: f32[4, 9, 9]) {\n  conv2d(8, 3, dilation = 2, padding = 1, groups = 2)\n  relu\n"
    "  conv2d(6, [3, 2], dilation = [2, 1], groups = 2, bias = false)\n  flatten\n  dense(3)\n}\n",
    Seq(
        nn.Conv2d(4, 8, 3, dilation=2, padding=1, groups=2),
        nn.ReLU(),
        nn.Conv2d(8, 6, (3, 2), dilation=(2, 1), groups=2, bias=False),
        nn.Flatten(),
        nn.Linear(6 * 3 * 6, 3),
    ),
    floats(4, 9, 9),
    onednn_off=[1, 3],
)
case(
    "a dilated grouped conv3d",
    "model M(x: f32[4, 5, 5, 5]) {\n  conv3d(6, 3, dilation = 2, groups = 2)\n  flatten\n  dense(3)\n}\n",
    Seq(nn.Conv3d(4, 6, 3, dilation=2, groups=2), nn.Flatten(), nn.Linear(6, 3)),
    floats(4, 5, 5, 5),
    onednn_off=[1, 3],
)
# On oneDNN (not estimated; the fixture keeps the profiler's figure): a 1×1 convolution at batch 16, a
# depthwise one, a 5×5 kernel at batch 1, a strided 1×1 one.
case(
    "1×1 conv2d at batch 16 (oneDNN)",
    "model M(x: f32[8, 9, 9]) {\n  conv2d(8, 1)\n}\n",
    Seq(nn.Conv2d(8, 8, 1)),
    floats(8, 9, 9),
    batch=16,
    onednn_off=[16],
)
case(
    "depthwise, 5×5 and strided 1×1 conv2d at batch 1 (oneDNN)",
    "model M(x: f32[8, 9, 9]) {\n  conv2d(8, 3, groups = 8)\n  conv2d(8, 5)\n  conv2d(8, 1, stride = 2)\n}\n",
    Seq(nn.Conv2d(8, 8, 3, groups=8), nn.Conv2d(8, 8, 5), nn.Conv2d(8, 8, 1, stride=2)),
    floats(8, 9, 9),
    batch=1,
    onednn_off=[1, 3],
)

# Whole CNNs whose convolutions PyTorch's default dispatch sends to oneDNN (named, not estimated), measured
# with oneDNN disabled: nnc's inference peak under that convention.
case(
    "LeNet-5",
    "model M(x: f32[1, 32, 32]) {\n  conv2d(6, 5)\n  tanh\n  avg_pool2d(2)\n  conv2d(16, 5)\n  tanh\n  avg_pool2d(2)\n"
    "  flatten\n  dense(120)\n  tanh\n  dense(84)\n  tanh\n  dense(10)\n}\n",
    Seq(
        nn.Conv2d(1, 6, 5),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.Tanh(),
        nn.Linear(120, 84),
        nn.Tanh(),
        nn.Linear(84, 10),
    ),
    floats(1, 32, 32),
    batch=1,
    onednn_off=[1, 8],
)


class ResNetBlockDown(Seq):
    """A stem (3×3 convolution, BatchNorm, ReLU) and a ResNet basic block with a projection shortcut (a
    strided 1×1 convolution and a BatchNorm), then a global pool and a Linear, step by step as nnc runs
    the unnamed `residual(shortcut = …)`: the body's layers, the shortcut's, the add (out of place, as
    nnc's; torchvision adds in place), each a step of the model; the block's input freed after the
    shortcut, its last reader."""

    def __init__(self, c_in, c, c_out):
        super().__init__(
            nn.Conv2d(c_in, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.Conv2d(c, c_out, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.Conv2d(c, c_out, 1, stride=2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Linear(c_out, 10),
        )

    def forward(self, x):
        f = self.fs

        def mark(t):
            if self is MARKED:
                torch.ops.aten.alias(t)

        for k in range(3):
            mark(x)
            x = f[k](x)
        h = x
        for k in range(3, 8):
            mark(h)
            h = f[k](h)
        mark(x)
        s = f[8](x)
        del x
        mark(s)
        s = f[9](s)
        mark(s)
        y = h + s
        del h, s
        mark(y)
        y = f[10](y)
        mark(y)
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)  # global_avg_pool: one step, as nnc's
        mark(y)
        return f[11](y)


case(
    "a ResNet basic block with a strided 1×1 downsample",
    "model M(x: f32[3, 16, 16]) {\n  conv2d(8, 3, padding = 1, bias = false)\n  batchnorm\n  relu\n"
    "  residual(shortcut = {\n    conv2d(16, 1, stride = 2, bias = false)\n    batchnorm\n  }) {\n"
    "    conv2d(16, 3, stride = 2, padding = 1, bias = false)\n    batchnorm\n    relu\n"
    "    conv2d(16, 3, padding = 1, bias = false)\n    batchnorm\n  }\n  relu\n  global_avg_pool\n  dense(10)\n}\n",
    ResNetBlockDown(3, 8, 16),
    floats(3, 16, 16),
    batch=2,
    onednn_off=[1, 4],
)
case(
    "a depthwise-separable block",
    "model M(x: f32[8, 12, 12]) {\n  conv2d(8, 3, padding = 1, groups = 8, bias = false)\n  batchnorm\n  relu6\n"
    "  conv2d(16, 1, bias = false)\n  batchnorm\n  relu6\n  conv2d(16, 3, stride = 2, padding = 1, groups = 16, bias = false)\n"
    "  batchnorm\n  relu6\n  conv2d(24, 1, bias = false)\n  batchnorm\n  global_avg_pool\n  dense(5)\n}\n",
    Seq(
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 16, 1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU6(),
        nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU6(),
        nn.Conv2d(16, 24, 1, bias=False),
        nn.BatchNorm2d(24),
        lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1),
        nn.Linear(24, 5),
    ),
    floats(8, 12, 12),
    batch=1,
    onednn_off=[1, 4],
)


print(json.dumps({"torch": torch.__version__, "device": "cpu", "dtype": "float32", "cases": cases}, indent=2))
