"""Reference for nnc's broadcasting value arithmetic (`+`, `-`, `*`) and `abs`: PyTorch 1.13 autograd, float64.

Run with PyTorch (1.13 made the committed file):  python3 make_broadcast.py > broadcast.json

The model (the nnc spec is in the file, `spec`; its sequence of at most 3 positions is given all 3) makes
operands of shapes [3, 4], [3, 1], [4] and [1, 4] per sample and combines them so that every broadcasting case is taken: one operand repeated along its last axis
(`a * c`), a shorter operand aligned from the last axis (`p - m`), both operands repeated (`r + c`), then
`abs` and a dense layer per position. nnc's shapes are per sample (the batch axis is never written and always matches), so a per-sample
[4] is [N, 1, 4] here (PyTorch would align a [N, 4] with the wrong axes). Parameters are multiples of 2^-12
and inputs of 2^-8, exact in float32 too. `gy` is the upstream gradient given to backward; `outputs`,
`param_grads` and `input_grad` are PyTorch's.

`abs_at_zero`: torch.abs's forward and input gradient at points that include 0 (PyTorch's abs_backward is
g * sign(x), and sign(0) = 0).
"""
import json

import torch
import torch.nn as nn

torch.manual_seed(14)
torch.set_default_dtype(torch.float64)

SPEC = """model B(x: f32[s <= 3, 4]) {
  a = x -> dense(4) as fa
  c = x -> dense(1) as fc
  m = x -> mean(axis = 0)
  r = m -> reshape([1, 4])
  p = a * c
  q = p - m
  u = r + c
  q * u -> abs -> dense(2) as out
}
"""


class B(nn.Module):
    def __init__(self):
        super().__init__()
        self.fa = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 1)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        n = x.shape[0]
        a = self.fa(x)  # [N, 3, 4]
        c = self.fc(x)  # [N, 3, 1]
        m = x.mean(1).reshape(n, 1, 4)  # per sample [4], aligned from the last axis
        r = m.reshape(n, 1, 4)  # per sample [1, 4]
        p = a * c
        q = p - m
        u = r + c
        return self.out(torch.abs(q * u))


def grid(t, step):
    return torch.round(t / step) * step


model = B()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(grid(p, 2.0**-12))
N = 2
x = grid(torch.randn(N, 3, 4), 2.0**-8).requires_grad_(True)
y = model(x)
gy = grid(torch.randn(N, 3, 2), 2.0**-8)
y.backward(gy)


def tensor(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().flatten().tolist()}


pts = torch.tensor([-1.5, -2.0**-8, 0.0, 0.0, 2.0**-8, 2.25], requires_grad=True)
g = torch.tensor([0.5, -1.25, 0.75, -2.0, 1.5, -0.25])
abs_y = torch.abs(pts)
abs_y.backward(g)

print(
    json.dumps(
        {
            "torch": torch.__version__,
            "spec": SPEC,
            "params": [tensor(k, v) for k, v in model.state_dict().items()],
            "inputs": tensor("x", x),
            "outputs": tensor("y", y),
            "gy": tensor("gy", gy),
            "param_grads": [tensor(k, v.grad) for k, v in model.named_parameters()],
            "input_grad": tensor("x", x.grad),
            "abs_at_zero": {"x": pts.tolist(), "gy": g.tolist(), "y": abs_y.tolist(), "gx": pts.grad.tolist()},
        }
    )
)
