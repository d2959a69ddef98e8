"""Reference for nnc's `pixel_shuffle`: torch.nn.PixelShuffle's rearrangement as an index map.

Run with PyTorch (1.13 made the committed file):  python3 make_pixel_shuffle.py > pixel_shuffle.json

For each case, a batch of 2 samples of shape [C, H, W] holding 0, 1, 2, ... (its flat indices) goes through
nn.PixelShuffle(r); the output, flattened, is then the flat input index each output element comes from.
"""
import json

import torch

cases = []
for shape, r in [((8, 2, 3), 2), ((9, 2, 2), 3), ((12, 1, 2), 2)]:
    n = 2
    x = torch.arange(n * shape[0] * shape[1] * shape[2], dtype=torch.float64).reshape(n, *shape)
    y = torch.nn.PixelShuffle(r)(x)
    cases.append({"shape": list(shape), "r": r, "n": n, "out_shape": list(y.shape[1:]),
                  "source": [int(v) for v in y.flatten().tolist()]})
print(json.dumps({"torch": torch.__version__, "cases": cases}))
