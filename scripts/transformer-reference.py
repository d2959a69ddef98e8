#!/usr/bin/env python3
"""Reference layouts of the encoder-decoder transformer examples, made with torch 1.13 (run with
/usr/bin/python3): the parameter count, weights and biases, and the state dict's names and shapes in
registration order, as JSON in the format of test/reference/state-dicts/*.json (see its README).

    /usr/bin/python3 scripts/transformer-reference.py transformer > test/reference/state-dicts/transformer.json

`transformer`: PyTorch's own `nn.Transformer()` with all its defaults (examples/transformer.nn), run once
on a short source and target with the causal target mask `generate_square_subsequent_mask` gives.

`whisper-tiny`: Hugging Face's `WhisperForConditionalGeneration` with the `openai/whisper-tiny` configuration
(https://huggingface.co/openai/whisper-tiny/blob/main/config.json: d_model 384, 4 encoder and 4 decoder
layers, 6 heads, ffn 1536, vocab 51865, 80 mel bins, 1500 source and 448 target positions), rebuilt here as
an independent torch reimplementation of its module tree (transformers is not installed; the tree follows
transformers' models/whisper/modeling_whisper.py): the same submodules registered in the same order, run
once on 3000 mel frames and 5 tokens. `proj_out` shares `model.decoder.embed_tokens.weight` (HF ties them),
so named_parameters lists that tensor once; `model.encoder.embed_positions` is not trained
(`requires_grad_(False)` in HF: its values are sinusoids) but is a parameter all the same.
"""
import json
import sys

import torch
from torch import nn
from torch.nn import functional as F


def transformer():
    model = nn.Transformer()
    src, tgt = torch.zeros(7, 1, 512), torch.zeros(5, 1, 512)
    out = model(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(5))
    assert out.shape == (5, 1, 512)
    return model, "torch.nn.Transformer() (all defaults)"


class WhisperAttention(nn.Module):
    # HF registers k_proj (no bias), v_proj, q_proj, out_proj in this order.
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d)
        self.q_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x, memory=None, causal=False):
        kv = x if memory is None else memory
        (N, T, D), S, H = x.shape, kv.shape[1], self.heads
        q = (self.q_proj(x) * (D // H) ** -0.5).view(N, T, H, -1).transpose(1, 2)
        k = self.k_proj(kv).view(N, S, H, -1).transpose(1, 2)
        v = self.v_proj(kv).view(N, S, H, -1).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        if causal:
            scores = scores.masked_fill(torch.ones(T, S, dtype=torch.bool).triu(1), float("-inf"))
        return self.out_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(N, T, D))


class WhisperEncoderLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.self_attn = WhisperAttention(d, heads)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, x):
        x = x + self.self_attn(self.self_attn_layer_norm(x))
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))


class WhisperDecoderLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.self_attn = WhisperAttention(d, heads)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = WhisperAttention(d, heads)
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, ffn)
        self.fc2 = nn.Linear(ffn, d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, x, memory):
        x = x + self.self_attn(self.self_attn_layer_norm(x), causal=True)
        x = x + self.encoder_attn(self.encoder_attn_layer_norm(x), memory)
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))


class WhisperEncoder(nn.Module):
    def __init__(self, mels, d, heads, ffn, layers, positions):
        super().__init__()
        self.conv1 = nn.Conv1d(mels, d, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(d, d, kernel_size=3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(positions, d)
        self.embed_positions.requires_grad_(False)
        self.layers = nn.ModuleList(WhisperEncoderLayer(d, heads, ffn) for _ in range(layers))
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, mel):
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)
        x = x + self.embed_positions.weight
        for layer in self.layers:
            x = layer(x)
        return self.layer_norm(x)


class WhisperDecoder(nn.Module):
    def __init__(self, vocab, d, heads, ffn, layers, positions):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.embed_positions = nn.Embedding(positions, d)
        self.layers = nn.ModuleList(WhisperDecoderLayer(d, heads, ffn) for _ in range(layers))
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, tokens, memory):
        x = self.embed_tokens(tokens) + self.embed_positions.weight[: tokens.shape[1]]
        for layer in self.layers:
            x = layer(x, memory)
        return self.layer_norm(x)


class WhisperModel(nn.Module):
    def __init__(self, **c):
        super().__init__()
        self.encoder = WhisperEncoder(c["mels"], c["d"], c["heads"], c["ffn"], c["layers"], c["sources"])
        self.decoder = WhisperDecoder(c["vocab"], c["d"], c["heads"], c["ffn"], c["layers"], c["targets"])


class WhisperForConditionalGeneration(nn.Module):
    def __init__(self, **c):
        super().__init__()
        self.model = WhisperModel(**c)
        self.proj_out = nn.Linear(c["d"], c["vocab"], bias=False)
        self.proj_out.weight = self.model.decoder.embed_tokens.weight  # tied, as HF's tie_weights()

    def forward(self, mel, tokens):
        return self.proj_out(self.model.decoder(tokens, self.model.encoder(mel)))


def whisper_tiny():
    config = dict(mels=80, d=384, heads=6, ffn=1536, layers=4, vocab=51865, sources=1500, targets=448)
    model = WhisperForConditionalGeneration(**config)
    out = model(torch.zeros(1, 80, 3000), torch.zeros(1, 5, dtype=torch.long))
    assert out.shape == (1, 5, 51865)
    return model, "WhisperForConditionalGeneration (openai/whisper-tiny config), torch reimplementation of HF's module tree"


MODELS = {"transformer": transformer, "whisper-tiny": whisper_tiny}


def layout(name):
    model, source = MODELS[name]()
    named = list(model.named_parameters())
    # Keys of the state dict that share a tensor listed under another name.
    first = {}
    tied = {}
    for n, p in model.state_dict(keep_vars=True).items():
        if id(p) in first:
            tied.setdefault(first[id(p)], []).append(n)
        else:
            first[id(p)] = n
    return {
        "model": name,
        "source": f"scripts/transformer-reference.py: {source}",
        "torch": torch.__version__,
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "weights": sum(p.numel() for n, p in named if n.endswith("weight")),
        "biases": sum(p.numel() for n, p in named if n.endswith("bias")),
        "note": "state_dict order; "
        + ("tied tensors listed once (tied_aliases names the other keys that share it)" if tied else "no tensor is tied"),
        "parameters": [
            {"name": n, "shape": list(p.shape), **({"tied_aliases": tied[n]} if n in tied else {})} for n, p in named
        ],
        "buffers": [
            {"name": n, "shape": list(b.shape), "dtype": str(b.dtype).replace("torch.", "")}
            for n, b in model.named_buffers()
        ],
    }


if __name__ == "__main__":
    json.dump(layout(sys.argv[1]), sys.stdout, indent=1)
    sys.stdout.write("\n")
