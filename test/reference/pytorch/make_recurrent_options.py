"""Reference for nnc's `lstm(proj_size = …)` and `gru(reset_after = false)`: PyTorch 1.13, float64 autograd.

Run with PyTorch (1.13 made the committed file):  python3 make_recurrent_options.py > recurrent_options.json

lstm cases: torch.nn.LSTM(proj_size=P, batch_first=True) itself (h_t = W_hr (o_t ⊙ tanh(c_t)), weight_hr_l{k}
[P, H], W_hh [4H, P], the next layer's input P × directions; https://pytorch.org/docs/1.13/generated/torch.nn.LSTM.html).
The output is the whole sequence (nnc's `sequences = true`) or h_n of the last layer with its directions
concatenated (`sequences = false`).

gru cases with reset_after = false: PyTorch has no such GRU, so the cell is written here from Keras's
definition (https://keras.io/api/layers/recurrent_layers/gru/, "reset_after: GRU convention (whether to
apply reset gate after or before matrix multiplication). False is "before""; Cho et al. 2014, arXiv
1406.1078v3, eq. 5-8) in PyTorch's layout and gate order (r, z, n):
    r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn),  h' = (1 − z) ⊙ n + z ⊙ h
with PyTorch's names (weight_ih_l0 [3H, D], weight_hh_l0 [3H, H], bias_ih_l0, bias_hh_l0), or Keras's single
bias (`bias_convention = keras`: one vector `bias_l0` [3H], where Keras's reset_after = False GRU keeps
one bias of 3·units) in place of b_ih + b_hh; autograd differentiates it. Each case also runs the same
hand-written cell with the reset gate after the product (W_hn h + b_hn, then r ⊙), checked here against
torch.nn.GRU to 1e-12, so the hand-written code is the one PyTorch computes where PyTorch has it.

Parameters are multiples of 2^-12 and inputs of 2^-8; `gy` is the upstream gradient given to backward.
"""
import json

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


def grid(t, step):
    return torch.round(t / step) * step


def tensor(name, t):
    return {"name": name, "shape": list(t.shape), "data": t.detach().flatten().tolist()}


def run(spec, params, forward, x_shape, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in params.values():
            p.copy_(grid(torch.rand_like(p) * 1.6 - 0.8, 2.0**-12))
    x = grid(torch.randn(*x_shape), 2.0**-8).requires_grad_(True)
    y = forward(x)
    gy = grid(torch.randn_like(y), 2.0**-8)
    y.backward(gy)
    return {
        "spec": spec,
        "params": [tensor(k, v) for k, v in params.items()],
        "inputs": tensor("x", x),
        "outputs": tensor("y", y),
        "gy": tensor("gy", gy),
        "param_grads": [tensor(k, v.grad) for k, v in params.items()],
        "input_grad": tensor("x", x.grad),
    }


cases = []
N, T, D = 2, 4, 3

for H, P, layers, bidirectional, sequences in [(5, 2, 1, False, True), (5, 3, 2, True, True), (4, 3, 2, True, False)]:
    lstm = nn.LSTM(D, H, num_layers=layers, bidirectional=bidirectional, proj_size=P, batch_first=True)
    params = dict(lstm.named_parameters())

    def forward(x, lstm=lstm, sequences=sequences, bidirectional=bidirectional):
        out, (h_n, _) = lstm(x)
        if sequences:
            return out
        return torch.cat([h_n[-2], h_n[-1]], -1) if bidirectional else h_n[-1]

    opts = [f"proj_size = {P}"]
    if layers != 1:
        opts.insert(0, f"layers = {layers}")
    if bidirectional:
        opts.append("bidirectional = true")
    if not sequences:
        opts.append("sequences = false")
    spec = f"model M(x: f32[t <= {T}, {D}]) {{\n  lstm({H}, {', '.join(opts)})\n}}\n"
    cases.append({"name": f"lstm {H}, {', '.join(opts)}", **run(spec, params, forward, (N, T, D), len(cases))})


def gru_cell(x, h, w_ih, w_hh, b_i, b_h, H, reset_after):
    gi = x @ w_ih.T + b_i
    r = torch.sigmoid(gi[:, :H] + h @ w_hh[:H].T + b_h[:H])
    z = torch.sigmoid(gi[:, H : 2 * H] + h @ w_hh[H : 2 * H].T + b_h[H : 2 * H])
    if reset_after:
        n = torch.tanh(gi[:, 2 * H :] + r * (h @ w_hh[2 * H :].T + b_h[2 * H :]))
    else:
        n = torch.tanh(gi[:, 2 * H :] + (r * h) @ w_hh[2 * H :].T + b_h[2 * H :])
    return (1 - z) * n + z * h


def gru_layers(x, params, H, layers, dirs, reset_after, keras):
    """The whole sequence of the last layer, [N, T, H·dirs]; directions as nn.GRU runs them."""
    inp = x
    for l in range(layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{l}" + ("_reverse" if d else "")
            w_ih, w_hh = params["weight_ih" + sfx], params["weight_hh" + sfx]
            if keras:
                b_i, b_h = params["bias" + sfx], torch.zeros(3 * H)
            else:
                b_i, b_h = params["bias_ih" + sfx], params["bias_hh" + sfx]
            h = torch.zeros(inp.shape[0], H)
            steps = [None] * inp.shape[1]
            order = range(inp.shape[1]) if d == 0 else reversed(range(inp.shape[1]))
            for t in order:
                h = gru_cell(inp[:, t], h, w_ih, w_hh, b_i, b_h, H, reset_after)
                steps[t] = h
            outs.append(torch.stack(steps, 1))
        inp = torch.cat(outs, -1)
    return inp


# The hand-written cell with the reset gate after the product is torch.nn.GRU.
with torch.no_grad():
    torch.manual_seed(99)
    ref = nn.GRU(D, 4, num_layers=2, bidirectional=True, batch_first=True)
    xx = torch.randn(N, T, D)
    mine = gru_layers(xx, dict(ref.named_parameters()), 4, 2, 2, True, False)
    assert (mine - ref(xx)[0]).abs().max().item() < 1e-12

for H, layers, bidirectional, keras in [(5, 1, False, False), (4, 2, True, False), (5, 1, False, True)]:
    dirs = 2 if bidirectional else 1
    params = {}
    for l in range(layers):
        for d in range(dirs):
            sfx = f"_l{l}" + ("_reverse" if d else "")
            IN = D if l == 0 else H * dirs
            params["weight_ih" + sfx] = torch.zeros(3 * H, IN, requires_grad=True)
            params["weight_hh" + sfx] = torch.zeros(3 * H, H, requires_grad=True)
            if keras:
                params["bias" + sfx] = torch.zeros(3 * H, requires_grad=True)
            else:
                params["bias_ih" + sfx] = torch.zeros(3 * H, requires_grad=True)
                params["bias_hh" + sfx] = torch.zeros(3 * H, requires_grad=True)

    def forward(x, params=params, H=H, layers=layers, dirs=dirs, keras=keras):
        return gru_layers(x, params, H, layers, dirs, False, keras)

    opts = ["reset_after = false"]
    if layers != 1:
        opts.insert(0, f"layers = {layers}")
    if bidirectional:
        opts.append("bidirectional = true")
    if keras:
        opts.append("bias_convention = keras")
    spec = f"model M(x: f32[t <= {T}, {D}]) {{\n  gru({H}, {', '.join(opts)})\n}}\n"
    cases.append({"name": f"gru {H}, {', '.join(opts)}", **run(spec, params, forward, (N, T, D), len(cases))})

print(json.dumps({"torch": torch.__version__, "cases": cases}))
