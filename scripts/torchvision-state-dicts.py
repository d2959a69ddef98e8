#!/usr/bin/env python3
"""Dumps the state-dict layout of a torchvision model — parameter and buffer names and shapes, in
`state_dict` order — in the format of test/reference/state-dicts/*.json (see its README):

    python3 scripts/torchvision-state-dicts.py vit_b_16 vit-b16 > test/reference/state-dicts/vit-b16.json

The model is built with torchvision's defaults (random weights; no download). Tensors that share storage
(ties) are listed once, under the first key, with the other keys as `tied_aliases`. Run with torch 1.13 and
torchvision 0.14 (Debian bookworm's python3-torch and python3-torchvision 0.14.1).
"""
import json
import sys

import torch
import torchvision


def layout(builder, name):
    model = getattr(torchvision.models, builder)()
    params = dict(model.named_parameters())
    state = model.state_dict(keep_vars=True)
    parameters, buffers, first_of = [], [], {}
    for key, tensor in state.items():
        if key in params or any(tensor is p for p in params.values()):
            ptr = (tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()))
            if ptr in first_of:
                first_of[ptr].setdefault("tied_aliases", []).append(key)
                continue
            entry = {"name": key, "shape": list(tensor.shape)}
            first_of[ptr] = entry
            parameters.append(entry)
        else:
            buffers.append({"name": key, "shape": list(tensor.shape), "dtype": str(tensor.dtype).replace("torch.", "")})
    return {
        "model": name,
        "source": f"torchvision {'.'.join(torchvision.__version__.split('.')[:2])} models.{builder}()",
        "torch": torch.__version__,
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "note": "state_dict order; tied tensors listed once (tied_aliases names the other keys that share it).",
        "parameters": parameters,
        "buffers": buffers,
    }


if __name__ == "__main__":
    builder, name = sys.argv[1], sys.argv[2]
    json.dump(layout(builder, name), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
