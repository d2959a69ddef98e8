"""Reference for nnc's per-tensor `frozen` (PyTorch's `layer.bias.requires_grad_(False)`): PyTorch 1.13, float64.

Run with PyTorch (1.13 made the committed file):  python3 make_frozen.py > frozen.json

The model (the nnc spec is in the file, `spec`) freezes single tensors of a convolution, a BatchNorm, a dense
layer and a LayerNorm, and both tensors of a second dense layer. From PyTorch:
- `counts`: parameters with requires_grad (trainable) and without (frozen), by `p.numel()`;
- `adam_training_bytes`: what one Adam step holds in float32, measured on the model itself after the step
  — every parameter (4 bytes), the gradients PyTorch made (`p.grad` is None for a frozen tensor), the Adam
  state tensors (`exp_avg`, `exp_avg_sq`; only trainable tensors get any; the `step` counters left out)
  and the buffers (`running_mean`, `running_var` float32, `num_batches_tracked` int64);
- one Adam step (lr 0.01, betas (0.9, 0.999), eps 1e-8) in training mode with cross-entropy (mean) on a
  batch of 4 in float64: `params` before and `params_after` (frozen tensors unchanged), `loss`.
Parameters are multiples of 2^-12 and inputs of 2^-8.
"""
import json

import torch
import torch.nn as nn

torch.manual_seed(30)

SPEC = """model Frozen(x: f32[1, 4, 4]) {
  conv2d(2, 3, padding = 1, frozen = bias) as conv
  batchnorm(frozen = [weight]) as bn
  relu
  flatten
  dense(5, frozen = weight) as fc1
  layernorm(frozen = bias) as ln
  dense(3, frozen = [weight, bias]) as fc2
  loss cross_entropy
}
"""


class Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.fc1 = nn.Linear(32, 5)
        self.ln = nn.LayerNorm(5)
        self.fc2 = nn.Linear(5, 3)
        self.conv.bias.requires_grad_(False)
        self.bn.weight.requires_grad_(False)
        self.fc1.weight.requires_grad_(False)
        self.ln.bias.requires_grad_(False)
        self.fc2.weight.requires_grad_(False)
        self.fc2.bias.requires_grad_(False)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc2(self.ln(self.fc1(x.flatten(1))))


def grid(t, step):
    return torch.round(t / step) * step


def tensor(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().flatten().tolist()}


def step(model, x, labels):
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    model.train()
    loss = nn.functional.cross_entropy(model(x), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss, opt


# Counts and the float32 bytes of one Adam step, measured on the model.
model32 = Frozen()
trainable = sum(p.numel() for p in model32.parameters() if p.requires_grad)
frozen = sum(p.numel() for p in model32.parameters() if not p.requires_grad)
x32 = torch.randn(4, 1, 4, 4)
_, opt32 = step(model32, x32, torch.tensor([0, 1, 2, 1]))
param_bytes = sum(p.numel() * p.element_size() for p in model32.parameters())
grad_bytes = sum(p.grad.numel() * p.grad.element_size() for p in model32.parameters() if p.grad is not None)
state_bytes = sum(
    v.numel() * v.element_size()
    for s in opt32.state.values()
    for k, v in s.items()
    if k in ("exp_avg", "exp_avg_sq")
)
buffer_bytes = sum(b.numel() * b.element_size() for b in model32.buffers())

# One step in float64 from grid values.
torch.set_default_dtype(torch.float64)
model = Frozen()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(grid(p, 2.0**-12))
before = [tensor(k, v) for k, v in model.named_parameters()]
x = grid(torch.randn(4, 1, 4, 4), 2.0**-8)
labels = torch.tensor([2, 0, 1, 2])
loss, _ = step(model, x, labels)

print(
    json.dumps(
        {
            "torch": torch.__version__,
            "spec": SPEC,
            "counts": {"params": trainable + frozen, "trainable": trainable, "non_trainable": frozen},
            "adam_training_bytes": {
                "params": param_bytes,
                "grads": grad_bytes,
                "adam_state": state_bytes,
                "buffers": buffer_bytes,
                "total": param_bytes + grad_bytes + state_bytes + buffer_bytes,
            },
            "frozen": [k for k, v in model.named_parameters() if not v.requires_grad],
            "params": before,
            "inputs": tensor("x", x),
            "labels": labels.tolist(),
            "loss": loss.item(),
            "params_after": [tensor(k, v) for k, v in model.named_parameters()],
        }
    )
)
