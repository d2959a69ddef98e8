"""Reference for nnc's standalone learned tensors (`parameter`, PyTorch's bare `nn.Parameter`): PyTorch 1.13,
float64 autograd.

Run with PyTorch (1.13 made the committed file):  python3 make_parameter.py > parameter.json

The model (the nnc spec is in the file, `spec`) holds three bare parameters used in value expressions with
broadcasting: a learned positional table `pos_embedding` [3, 4] added to the reshaped input (ViT's
`pos_embedding`, without its leading batch axis of 1), a LayerScale `gamma` [4] multiplying a residual
branch inside a block (CaiT / timm's `LayerScale`), and a learned `shift` [4] subtracted before the head.
`state_dict` lists PyTorch's names and shapes; `params` the values loaded (multiples of 2^-12), `inputs`
(multiples of 2^-8), `outputs`, the upstream gradient `gy` given to backward, and PyTorch's `param_grads`
and `input_grad`.
"""
import json

import torch
import torch.nn as nn

torch.manual_seed(31)
torch.set_default_dtype(torch.float64)

SPEC = """block LayerScaleMlp(d) {
  input x
  gamma = parameter(d, init = ones, scale = 0.1) as gamma
  h = x -> layernorm as norm -> dense(2 * d) as fc1 -> gelu -> dense(d) as fc2
  x + h * gamma
}

model P(x: f32[12]) {
  pos = parameter([3, 4], init = normal, scale = 0.02) as pos_embedding
  shift = parameter(4, init = uniform, scale = 0.5) as shift
  h = x -> reshape([3, 4])
  y = h + pos -> LayerScaleMlp(4) as block
  y - shift -> flatten -> dense(3) as head
}
"""


class LayerScaleMlp(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.gamma = nn.Parameter(0.1 * torch.ones(d))
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, x):
        return x + self.fc2(nn.functional.gelu(self.fc1(self.norm(x)))) * self.gamma


class P(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(3, 4).normal_(std=0.02))
        self.shift = nn.Parameter(torch.empty(4).uniform_(-0.5, 0.5))
        self.block = LayerScaleMlp(4)
        self.head = nn.Linear(12, 3)

    def forward(self, x):
        y = self.block(x.reshape(x.shape[0], 3, 4) + self.pos_embedding)
        return self.head((y - self.shift).flatten(1))


def grid(t, step):
    return torch.round(t / step) * step


def tensor(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().flatten().tolist()}


model = P()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(grid(torch.randn_like(p) * 0.5, 2.0**-12))
N = 2
x = grid(torch.randn(N, 12), 2.0**-8).requires_grad_(True)
y = model(x)
gy = grid(torch.randn(N, 3), 2.0**-8)
y.backward(gy)

print(
    json.dumps(
        {
            "torch": torch.__version__,
            "spec": SPEC,
            "params_count": sum(p.numel() for p in model.parameters()),
            "state_dict": [{"name": k, "shape": list(v.shape)} for k, v in model.state_dict().items()],
            "params": [tensor(k, v) for k, v in model.named_parameters()],
            "inputs": tensor("x", x),
            "outputs": tensor("y", y),
            "gy": tensor("gy", gy),
            "param_grads": [tensor(k, v.grad) for k, v in model.named_parameters()],
            "input_grad": tensor("x", x.grad),
        }
    )
)
