#!/usr/bin/env python3
"""Reference layouts of the encoder-decoder transformer examples, made with torch 1.13 (run with
/usr/bin/python3): the parameter count, weights and biases, and the state dict's names and shapes in
registration order, as JSON in the format of test/reference/state-dicts/*.json (see its README).

    /usr/bin/python3 scripts/transformer-reference.py transformer > test/reference/state-dicts/transformer.json

`transformer`: PyTorch's own `nn.Transformer()` with all its defaults (examples/transformer.nn), run once
on a short source and target with the causal target mask `generate_square_subsequent_mask` gives.
"""
import json
import sys

import torch
from torch import nn


def transformer():
    model = nn.Transformer()
    src, tgt = torch.zeros(7, 1, 512), torch.zeros(5, 1, 512)
    out = model(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(5))
    assert out.shape == (5, 1, 512)
    return model, "torch.nn.Transformer() (all defaults)"


MODELS = {"transformer": transformer}


def layout(name):
    model, source = MODELS[name]()
    named = list(model.named_parameters())
    return {
        "model": name,
        "source": f"scripts/transformer-reference.py: {source}",
        "torch": torch.__version__,
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "weights": sum(p.numel() for n, p in named if n.endswith("weight")),
        "biases": sum(p.numel() for n, p in named if n.endswith("bias")),
        "note": "state_dict order; no tensor is tied",
        "parameters": [{"name": n, "shape": list(p.shape)} for n, p in named],
        "buffers": [
            {"name": n, "shape": list(b.shape), "dtype": str(b.dtype).replace("torch.", "")}
            for n, b in model.named_buffers()
        ],
    }


if __name__ == "__main__":
    json.dump(layout(sys.argv[1]), sys.stdout, indent=1)
    sys.stdout.write("\n")
