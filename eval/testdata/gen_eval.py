"""Reference outputs for package eval's tests (run with Debian's PyTorch:
/usr/bin/python3 eval/testdata/gen_eval.py). Writes eval_golden.json, and
mlp/ (config.json + model.safetensors) for the ε-sharpness reference.

- CKA: linear CKA (Kornblith et al. 2019) in float64 numpy on random
  matrices, and on an orthogonally rotated and an isotropically scaled copy.
- ε-sharpness: a tiny tram-mlp, the loss on a fixed batch maximized over the
  box |z_i| <= eps(|theta_i|+1) by projected sign-gradient ascent from z = 0
  (step 2·eps(|theta_i|+1)/steps, the best loss kept), in float32 like tram;
  reported as 100·(max − base)/(1 + base).
"""
import json, os, sys
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "models", "testdata", "torch"))
import safetensors_io  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)


def cka(x, y):
    x = x - x.mean(0, keepdims=True)
    y = y - y.mean(0, keepdims=True)
    return float(np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


x = rng.standard_normal((40, 7)).astype(np.float32)
y = (x @ rng.standard_normal((7, 5)) + 0.5 * rng.standard_normal((40, 5))).astype(np.float32)
q, _ = np.linalg.qr(rng.standard_normal((7, 7)))
cases = [
    {"name": "random", "x": x, "y": y},
    {"name": "independent", "x": x, "y": rng.standard_normal((40, 9)).astype(np.float32)},
    {"name": "rotated", "x": x, "y": (x @ q).astype(np.float32)},
    {"name": "scaled", "x": x, "y": (3.5 * x).astype(np.float32)},
]
out = {"cka": []}
for c in cases:
    xs, ys = c["x"].astype(np.float64), c["y"].astype(np.float64)
    out["cka"].append({"name": c["name"], "dx": c["x"].shape[1], "dy": c["y"].shape[1],
                       "x": c["x"].ravel().tolist(), "y": c["y"].ravel().tolist(), "cka": cka(xs, ys)})

torch.manual_seed(3)
mlp = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
os.makedirs(os.path.join(here, "mlp"), exist_ok=True)
safetensors_io.save(os.path.join(here, "mlp", "model.safetensors"),
                    {"layers.0.weight": mlp[0].weight, "layers.0.bias": mlp[0].bias,
                     "layers.1.weight": mlp[2].weight, "layers.1.bias": mlp[2].bias}, {"format": "pt"})
with open(os.path.join(here, "mlp", "config.json"), "w") as f:
    json.dump({"model_type": "tram-mlp", "in_channels": 1, "image_size": 4, "num_classes": 3, "hidden": [8]}, f, indent=2)
X = torch.rand(12, 1, 4, 4)
Y = torch.randint(0, 3, (12,))
params = list(mlp.parameters())


def loss():
    return torch.nn.functional.cross_entropy(mlp(X.reshape(12, -1)), Y)


out["sharpness"] = {"x": X.ravel().tolist(), "y": Y.tolist(), "cases": []}
theta = [p.detach().clone() for p in params]
for eps, steps in [(1e-2, 10), (1e-3, 5), (1e-5, 10)]:
    with torch.no_grad():
        base = loss().item()
    best = base
    for s in range(steps):
        for p in params:
            p.grad = None
        loss().backward()
        with torch.no_grad():
            for p, t in zip(params, theta):
                w = eps * (t.double().abs() + 1)
                z = p.double() - t.double()
                z = z + torch.sign(p.grad.double()) * 2 * w / steps
                z = torch.maximum(-w, torch.minimum(w, z))
                p.copy_((t.double() + z).float())
            best = max(best, loss().item())
    with torch.no_grad():
        for p, t in zip(params, theta):
            p.copy_(t)
    out["sharpness"]["cases"].append({"eps": eps, "steps": steps, "base": base, "sharpness": 100 * (best - base) / (1 + base)})

with open(os.path.join(here, "eval_golden.json"), "w") as f:
    json.dump(out, f)
print("wrote", os.path.join(here, "eval_golden.json"))
