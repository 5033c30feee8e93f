#!/usr/bin/env python3
"""Reference trajectories for tram's base optimizers, from PyTorch.

Run with Debian's PyTorch:  /usr/bin/python3 optim/testdata/gen_optim.py
Writes optim/testdata/optim_golden.json: for each case, the initial
parameters, the fixed gradient function's inputs and the parameters after
every step. The problem: minimize f(θ) = Σ_i a_i·θ_i² + b_i·θ_i (a fixed
quadratic), so the gradient is 2·a·θ + b and both sides compute it exactly.
"""
import json, os
import torch

torch.manual_seed(0)
n = 7
a = (torch.rand(n, dtype=torch.float64) + 0.1)
b = torch.randn(n, dtype=torch.float64)
theta0 = torch.randn(n, dtype=torch.float64)

cases = [
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9)),
    ("sgd", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("adamw", dict(lr=0.01)),
    ("adamw", dict(lr=0.01, betas=(0.9, 0.99), weight_decay=0.1)),
    ("adamw", dict(lr=0.003, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.0)),
]
out = {"a": a.tolist(), "b": b.tolist(), "theta0": theta0.tolist(), "cases": []}
for name, kw in cases:
    p = torch.nn.Parameter(theta0.clone().float())
    opt = torch.optim.SGD([p], **kw) if name == "sgd" else torch.optim.AdamW([p], **kw)
    traj = []
    for _ in range(10):
        opt.zero_grad()
        loss = (a.float() * p * p + b.float() * p).sum()
        loss.backward()
        opt.step()
        traj.append(p.detach().double().tolist())
    kw = dict(kw)
    if "betas" in kw:
        kw["beta1"], kw["beta2"] = kw.pop("betas")
    out["cases"].append({"optimizer": name, "options": kw, "trajectory": traj})
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_golden.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path)
