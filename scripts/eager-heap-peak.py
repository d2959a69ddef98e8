#!/usr/bin/env python3
"""Whole-process inference peaks, measured through the C heap: can the PyTorch-eager inference peak of
convolutions (not seen by the profiler, src/count/eager-peak.ts) be measured to the byte?

scripts/torch-saved-tensors.py measures `peak` with the legacy profiler, which sees c10's CPU allocator
only; oneDNN (which runs most CPU convolutions) allocates its buffers and objects itself. This script
builds scripts/malloc-peak.c (an LD_PRELOAD interposer over malloc/calloc/realloc/posix_memalign/
aligned_alloc/memalign/free, gcc at run time), re-runs itself under it, and with one thread, eval mode and
no_grad, after one warm-up call, records the highest sum of the blocks allocated aligned (c10's allocator
and oneDNN both use posix_memalign; tensor metadata and Python objects come through malloc) during one
forward call, plus the input's bytes, as `peak` is defined:

- `agreement`: every case of test/fixtures/torch-saved-tensors.json, the profiler's `peak` beside the heap's
  (the cases measured with oneDNN disabled, `"onednn": false` there, with oneDNN disabled here too);
- `convolutions`: conv1d/conv2d/conv3d/conv_transpose2d at batches 1–4, each measured twice, with the
  output's bytes, the aligned blocks of 1 KiB or more in order (+ made, − freed), and how many smaller
  ones were made (oneDNN's descriptors and primitive objects, made on every call).

Run: /usr/bin/python3 scripts/eager-heap-peak.py > test/fixtures/eager-heap-peak.json
"""
import ctypes
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

if os.environ.get("MALLOC_PEAK_SO") is None:
    with tempfile.TemporaryDirectory() as d:
        so = os.path.join(d, "malloc-peak.so")
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", so, os.path.join(HERE, "malloc-peak.c")], check=True)
        env = dict(os.environ, MALLOC_PEAK_SO=so, LD_PRELOAD=so, OMP_NUM_THREADS="1")
        sys.exit(subprocess.run([sys.executable, os.path.abspath(__file__)], env=env).returncode)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

lib = ctypes.CDLL(None)
for f in ["mp_peak_aligned", "mp_event"]:
    getattr(lib, f).restype = ctypes.c_longlong
torch.set_num_threads(1)


def heap_peak(model, x):
    """The input's bytes plus the highest sum of aligned blocks during one forward call (after a warm-up
    call: oneDNN builds and caches its primitives on the first), and the blocks' sizes in order."""
    model.eval()
    xs = x if isinstance(x, tuple) else (x,)  # a model of several inputs (cross-attention) takes a tuple
    with torch.no_grad():
        model(*xs)
        lib.mp_arm()
        y = model(*xs)
        del y
        lib.mp_disarm()
    held = sum(t.storage().nbytes() for t in xs)
    return held + lib.mp_peak_aligned(), [lib.mp_event(i) for i in range(lib.mp_events())]


def fixture_models():
    """The models of scripts/torch-saved-tensors.py, with their names and inputs (its cases not run)."""
    src = open(os.path.join(HERE, "torch-saved-tensors.py")).read()
    models = []
    ns = {"__name__": "torch_saved_tensors"}

    def at_batch(make, batch):
        """The case's input maker at its batch (the script's floats() read BATCH when called)."""

        def made():
            ns["BATCH"] = batch
            return make()

        return made

    def case(name, spec, model, make, batch=3, onednn_off=()):
        """The case at its batch, then at each batch of `onednn_off` with oneDNN disabled (as the script)."""
        models.append((name, model, at_batch(make, batch), True))
        for b in onednn_off:
            models.append((ns["onednn_off_name"](name, b), model, at_batch(make, b), False))

    ns["CASE"] = case
    src = src.replace("def case(name, spec, model, make_input, batch=3, onednn_off=()):", "def _measured_case(name, spec, model, make_input, batch=3, onednn_off=()):")
    src = src.replace("cases = []", "cases = []\ncase = CASE", 1)
    src = src.replace("print(json.dumps(", "None and print(json.dumps(")
    exec(compile(src, "torch-saved-tensors.py", "exec"), ns)
    return models


fixture = json.load(open(os.path.join(HERE, "..", "test", "fixtures", "torch-saved-tensors.json")))
profiled = {c["name"]: c["peak"] for c in fixture["cases"]}
agreement = []
for name, model, make, onednn in fixture_models():
    torch.manual_seed(0)
    with torch.backends.mkldnn.flags(enabled=onednn):
        peak, _ = heap_peak(model, make())
    agreement.append({"name": name, "profiler": profiled[name], "heap": peak})

layers = {
    "conv1d(4 → 6, 3)": (lambda: nn.Conv1d(4, 6, 3), (4, 20)),
    "conv2d(3 → 8, 3, padding 1)": (lambda: nn.Conv2d(3, 8, 3, padding=1), (3, 16, 16)),
    "conv2d(8 → 8, 3)": (lambda: nn.Conv2d(8, 8, 3), (8, 8, 8)),
    "conv2d(16 → 32, 3, padding 1)": (lambda: nn.Conv2d(16, 32, 3, padding=1), (16, 12, 12)),
    "conv3d(3 → 4, 3)": (lambda: nn.Conv3d(3, 4, 3), (3, 6, 6, 6)),
    "conv_transpose2d(4 → 3, 3, stride 2)": (lambda: nn.ConvTranspose2d(4, 3, 3, stride=2), (4, 5, 5)),
}
convolutions = []
for name, (make, shape) in layers.items():
    for batch in [1, 2, 3, 4]:
        runs = []
        for _ in range(2):
            torch.manual_seed(0)
            layer = make()
            x = torch.randn(batch, *shape)
            peak, events = heap_peak(layer, x)
            with torch.no_grad():
                out = layer(x).storage().nbytes()
            runs.append(
                {
                    "peak": peak,
                    "input": x.storage().nbytes(),
                    "output": out,
                    "blocks": [e for e in events if abs(e) >= 1024],
                    "small_blocks": sum(1 for e in events if 0 < e < 1024),
                }
            )
        convolutions.append({"layer": name, "batch": batch, "runs": runs})

print(
    json.dumps(
        {
            "torch": torch.__version__,
            "mkldnn": torch.backends.mkldnn.is_available(),
            "config": [line.strip() for line in torch.__config__.show().splitlines() if "MKL-DNN" in line or "CPU capability" in line],
            "threads": torch.get_num_threads(),
            "agreement": agreement,
            "convolutions": convolutions,
        },
        indent=1,
    )
)
