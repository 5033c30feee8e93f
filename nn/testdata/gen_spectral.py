#!/usr/bin/env python3
"""Reference for nn.SpectralNorm: torch.nn.utils.spectral_norm on a Linear layer.

Run: /usr/bin/python3 nn/testdata/gen_spectral.py   (Debian python3-torch)
Writes nn/testdata/spectral_expected.safetensors:
  init.weight_orig, init.weight_u, init.weight_v, bias   the layer before any forward
  x                                                     the input [5, 6]
  step<k>.weight_u, step<k>.weight_v, step<k>.weight,   after training forward k = 1..4
  step<k>.y                                             (one power iteration each, as
                                                        n_power_iterations=1): the
                                                        iteration vectors, the normalized
                                                        weight W/sigma and the output
  step<k>.sigma                                         u . (W v) used by forward k
  grad.weight_orig, grad.bias                           gradient of sum(y * r) after the
                                                        last training forward (r below)
  r                                                     the fixed projection [5, 4]
  eval.y, eval.weight_u                                 an evaluation forward (no
                                                        iteration) after the four steps
"""
import os, sys
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models", "testdata", "torch"))
from safetensors_io import save

torch.manual_seed(2024)
lin = torch.nn.Linear(6, 4)
with torch.no_grad():
    lin.weight.normal_(0, 0.7)
    lin.bias.normal_(0, 0.1)
sn = torch.nn.utils.spectral_norm(lin, n_power_iterations=1)
x = torch.randn(5, 6)
r = torch.randn(5, 4)

out = {
    "init.weight_orig": sn.weight_orig.detach().clone(),
    "init.weight_u": sn.weight_u.clone(),
    "init.weight_v": sn.weight_v.clone(),
    "bias": sn.bias.detach().clone(),
    "x": x,
    "r": r,
}
sn.train()
for k in range(1, 5):
    sn.zero_grad()
    y = sn(x)
    u, v = sn.weight_u, sn.weight_v
    sigma = torch.dot(u, sn.weight_orig.detach() @ v)
    out[f"step{k}.weight_u"] = u.clone()
    out[f"step{k}.weight_v"] = v.clone()
    out[f"step{k}.weight"] = sn.weight.detach().clone()
    out[f"step{k}.sigma"] = sigma.reshape(1)
    out[f"step{k}.y"] = y.detach().clone()
(y * r).sum().backward()
out["grad.weight_orig"] = sn.weight_orig.grad.clone()
out["grad.bias"] = sn.bias.grad.clone()
sn.eval()
with torch.no_grad():
    out["eval.y"] = sn(x).clone()
out["eval.weight_u"] = sn.weight_u.clone()
save(os.path.join(HERE, "spectral_expected.safetensors"), out)
print("sigma after 4 iterations", out["step4.sigma"].item(), "true", torch.linalg.matrix_norm(sn.weight_orig.detach(), 2).item())
