#!/usr/bin/env python3
"""The PyTorch-eager inference peak of torchvision 0.14's own ResNet-18 and ResNet-50 at batch 32 with
oneDNN disabled (torch.backends.mkldnn.flags(enabled=False): every convolution on ATen's own kernels), the
convention `nnc count --batch` takes for a model with convolutions PyTorch would run on oneDNN: a check of
src/count/eager-peak.ts on whole models beside examples/resnet18.nn and examples/resnet50.nn.

Measured as scripts/torch-saved-tensors.py measures `peak` (eval mode, no_grad, fp32, CPU, one thread, the
legacy profiler's record of every allocation and free of c10's CPU allocator; the input's bytes plus the
highest running sum), twice per model:

- `torchvision`: the model as torchvision runs it. ResNet's `_forward_impl` keeps the stem's output in its
  local `x` until layer1 returns, so that map stays alive through layer1's later blocks;
- `sequential`: the same modules in one nn.Sequential (conv1, bn1, relu, maxpool, the blocks, avgpool,
  flatten, fc), each value freed after its last reader, as nnc's figure assumes. torchvision's in-place
  ReLU and `out += identity` make no difference at the peak.

Run: /usr/bin/python3 scripts/torchvision-eager-peak.py > test/fixtures/torchvision-eager-peak.json
"""
import json

import torch
import torch.nn as nn
import torchvision
from torch._C._profiler import _ExperimentalConfig
from torch.autograd import ProfilerConfig, ProfilerState, _disable_profiler_legacy, _enable_profiler_legacy

BATCH = 32


def peak(model, x):
    config = ProfilerConfig(ProfilerState.CPU, False, True, False, False, False, _ExperimentalConfig())
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
        _enable_profiler_legacy(config)
        model(x)
        records = _disable_profiler_legacy()
    live = top = 0
    for thread in records:
        for r in thread:
            if r.kind() == "memory_alloc":
                live += r.cpu_memory_usage()
                top = max(top, live)
    return x.storage().nbytes() + top


torch.set_num_threads(1)
torch.manual_seed(0)
cases = []
for name in ["resnet18", "resnet50"]:
    m = getattr(torchvision.models, name)().eval()
    flat = nn.Sequential(
        m.conv1, m.bn1, m.relu, m.maxpool, *m.layer1, *m.layer2, *m.layer3, *m.layer4, m.avgpool, nn.Flatten(), m.fc
    ).eval()
    x = torch.randn(BATCH, 3, 224, 224)
    cases.append({"example": f"examples/{name}.nn", "batch": BATCH, "torchvision": peak(m, x), "sequential": peak(flat, x)})

print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "onednn": False, "cases": cases}, indent=1))
