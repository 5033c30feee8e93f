#!/usr/bin/env python3
"""Reference trajectories of every deterministic method of package sharp, from PyTorch.

Run: /usr/bin/python3 sharp/testdata/gen_sharp.py   (Debian python3-torch 1.13)
Writes sharp/testdata/sharp_golden.safetensors and sharp_golden.json.

Two fixed problems, both written functionally so that a target forward is the same
code with another parameter dict:
  mlp: x[12,8] -> Linear(8,16) -> BatchNorm1d(16) -> ReLU -> Linear(16,5), CE; base SGD
       (lr 0.1, momentum 0.9, weight decay 1e-3). Input noise (std 0.5) goes on x.
  gpt: a tiny GPT-2 (vocab 17, n_positions 6, n_embd 8, 2 layers, 2 heads) on ids[2,6],
       LM loss over predicted positions; base AdamW (lr 1e-2, betas 0.9/0.99, eps 1e-3, wd 0.01).
       Input noise goes on the token embeddings (before positions).
Noise methods use one fixed noise tensor per problem (stored as noise.<problem>), added
identically at every call, so they are deterministic here.
L2-SP (Li, Grandvalet, Davoine 2018) adds lam/2 * sum((p - p0)^2) over the parameters that are
not the "head" (L2SP_HEAD: mlp's fc2, a real head; for gpt an interior block, so that both ends
of the excluded range are exercised) to the loss and lets autograd differentiate it; reg_d is
0.5 * sum((p - p0)^2). lam = L2SP_LAMBDA (1: large enough to move 4 steps visibly).
Per case and step: loss (pass 1, with regularizer), d (the radius before kappa and the cap:
TRAM's d_t, or the fixed rho/gamma; 0 without a perturbation), radius (the radius used,
min(kappa*d, cap)), reg_d (the regularizer's unweighted divergence; 0 without one), eps_norm,
and the parameters after the step (tensor "<case>/<step>", flat, in tram's order).
TRAM's d_t is computed in float64 from the float32 logits.
The semantics follow docs/METHOD.md exactly (see run() below).
"""
import json, math, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "testdata", "torch"))
from safetensors_io import save  # noqa: E402  (the repo's one safetensors writer for reference scripts)

torch.set_default_dtype(torch.float32)
HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 4

# ---------------------------------------------------------------- problems
def mlp_problem():
    g = torch.Generator().manual_seed(7)
    P = {
        "fc1.weight": torch.randn(16, 8, generator=g) * 0.4, "fc1.bias": torch.randn(16, generator=g) * 0.1,
        "bn.weight": 1 + 0.1 * torch.randn(16, generator=g), "bn.bias": 0.1 * torch.randn(16, generator=g),
        "fc2.weight": torch.randn(5, 16, generator=g) * 0.4, "fc2.bias": torch.randn(5, generator=g) * 0.1,
    }
    buffers = {"bn.running_mean": torch.zeros(16), "bn.running_var": torch.ones(16)}
    x = torch.randn(12, 8, generator=g)
    y = torch.randint(0, 5, (12,), generator=g)
    noise = 0.5 * torch.randn(12, 8, generator=g)

    def forward(params, bufs, noise_on, frozen):
        inp = x + noise if noise_on else x
        h = inp @ params["fc1.weight"].t() + params["fc1.bias"]
        h = F.batch_norm(h, bufs["bn.running_mean"], bufs["bn.running_var"], params["bn.weight"], params["bn.bias"],
                         training=True, momentum=0.0 if frozen else 0.1, eps=1e-5)
        logits = F.relu(h) @ params["fc2.weight"].t() + params["fc2.bias"]
        return logits, F.cross_entropy(logits, y)
    base = lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3)
    return dict(params=P, buffers=buffers, forward=forward, base=base, noise=noise,
                data={"mlp.x": x, "mlp.y": y})


def gpt_problem():
    g = torch.Generator().manual_seed(11)
    V, T, D, L, H = 17, 6, 8, 2, 2
    P = {"wte.weight": 0.3 * torch.randn(V, D, generator=g), "wpe.weight": 0.3 * torch.randn(T, D, generator=g)}
    for l in range(L):
        for n, shape in [("ln_1.weight", (D,)), ("ln_1.bias", (D,)), ("attn.c_attn.weight", (D, 3 * D)), ("attn.c_attn.bias", (3 * D,)),
                         ("attn.c_proj.weight", (D, D)), ("attn.c_proj.bias", (D,)), ("ln_2.weight", (D,)), ("ln_2.bias", (D,)),
                         ("mlp.c_fc.weight", (D, 4 * D)), ("mlp.c_fc.bias", (4 * D,)), ("mlp.c_proj.weight", (4 * D, D)), ("mlp.c_proj.bias", (D,))]:
            t = 0.3 * torch.randn(*shape, generator=g)
            if n.startswith("ln") and n.endswith("weight"):
                t = t + 1
            P[f"h.{l}.{n}"] = t
    P["ln_f.weight"] = 1 + 0.3 * torch.randn(D, generator=g)
    P["ln_f.bias"] = 0.3 * torch.randn(D, generator=g)
    ids = torch.randint(0, V, (2, T), generator=g)
    noise = 0.05 * torch.randn(2, T, D, generator=g)

    def forward(params, bufs, noise_on, frozen):
        B = ids.shape[0]
        x = params["wte.weight"][ids]
        if noise_on:
            x = x + noise
        x = x + params["wpe.weight"][:T]
        hd = D // H
        for l in range(L):
            q = lambda n: params[f"h.{l}.{n}"]
            h = F.layer_norm(x, (D,), q("ln_1.weight"), q("ln_1.bias"), 1e-5)
            qkv = h @ q("attn.c_attn.weight") + q("attn.c_attn.bias")
            qq, kk, vv = [t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(D, dim=2)]
            att = (qq @ kk.transpose(-2, -1)) / math.sqrt(hd)
            att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
            y = (att @ vv).transpose(1, 2).reshape(B, T, D)
            x = x + (y @ q("attn.c_proj.weight") + q("attn.c_proj.bias"))
            h = F.layer_norm(x, (D,), q("ln_2.weight"), q("ln_2.bias"), 1e-5)
            x = x + (F.gelu(h @ q("mlp.c_fc.weight") + q("mlp.c_fc.bias"), approximate="tanh") @ q("mlp.c_proj.weight") + q("mlp.c_proj.bias"))
        x = F.layer_norm(x, (D,), params["ln_f.weight"], params["ln_f.bias"], 1e-5)
        logits = (x[:, :-1] @ params["wte.weight"].t()).reshape(-1, V)
        return logits, F.cross_entropy(logits, ids[:, 1:].reshape(-1))
    # eps 1e-3, not 1e-8: the key bias of attention has an exactly-zero true gradient
    # (it shifts every score of a query equally), so its float32 gradient is rounding
    # noise that Adam with a tiny eps would amplify to ±lr steps on both sides.
    base = lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.99), eps=1e-3, weight_decay=0.01)
    return dict(params=P, buffers={}, forward=forward, base=base, noise=noise, data={"gpt.ids": ids})

# ---------------------------------------------------------------- methods
def kl(t, c):  # mean over rows of KL(softmax(t) || softmax(c))
    lt, lc = F.log_softmax(t, -1), F.log_softmax(c, -1)
    return (lt.exp() * (lt - lc)).sum(-1).mean()

METHODS = {
    # name: (perturbation, regularizer) ; perturbation = (radius, direction, options)
    "sgd": (None, None), "adamw": (None, None),
    "sam": (("fixed", 0.05, "sam", {}), None),
    "asam": (("fixed", 0.5, "adaptive", {}), None),
    "asam-eta-weights": (("fixed", 0.5, "adaptive", {"eta": 0.01, "weights_only": True}), None),
    "fsam": (("fixed", 0.1, "fisher", {"eta": 0.1}), None),
    "tram-theta0": (("tr", "theta0", "adaptive", {}), None),
    "tram-prev": (("tr", "prev", "adaptive", {}), None),
    "tram-ema": (("tr", "ema", "adaptive", {"beta": 0.9}), None),
    "tram-x": (("tr", "x", "adaptive", {}), None),
    "tram-theta0-nograd": (("tr", "theta0", "adaptive", {"no_grad_factor": True}), None),
    "tram-theta0-eta-weights": (("tr", "theta0", "adaptive", {"eta": 0.01, "weights_only": True}), None),
    "tram-theta0-kappa-cap": (("tr", "theta0", "adaptive", {"kappa": 2.0, "max_radius": 0.3}), None),
    "tram-fisher": (("fixed", 0.1, "fisher", {"eta": 0.1, "first_noise": True}), None),
    "trpo": (None, ("trpo", 0.1)),
    "r3f": (None, ("r3f", 0.1)),
    "r3f-onesided": (None, ("r3f-onesided", 1.0)),  # λ 1: the one-sided term alone is small
    "mesa": (None, ("mesa", 0.1)),
    "asam+trpo": (("fixed", 0.5, "adaptive", {}), ("trpo", 0.1)),
    "asam+r3f": (("fixed", 0.5, "adaptive", {}), ("r3f", 0.1)),
    "asam+mesa": (("fixed", 0.5, "adaptive", {}), ("mesa", 0.1)),
    "l2sp": (None, ("l2sp", 1.0)),
}
MESA_BETA, MESA_TAU = 0.9, 2.0  # small β so the EMA moves within 4 steps
L2SP_LAMBDA = METHODS["l2sp"][1][1]
# The parameters L2-SP leaves alone (contiguous in tram's arena).
L2SP_HEAD = {"mlp": ["fc2.weight", "fc2.bias"],
             "gpt": ["h.1.mlp.c_fc.weight", "h.1.mlp.c_fc.bias", "h.1.mlp.c_proj.weight", "h.1.mlp.c_proj.bias"]}


def run(problem, method, pname):
    pert, reg = METHODS[method]
    names = list(problem["params"])
    params = {n: t.clone().requires_grad_(True) for n, t in problem["params"].items()}
    bufs = {n: t.clone() for n, t in problem["buffers"].items()}
    fwd = problem["forward"]
    plist = [params[n] for n in names]
    if method == "sgd" and problem["base"](plist).__class__ is not torch.optim.SGD:
        return None
    opt = problem["base"](plist)
    theta0 = {n: t.detach().clone() for n, t in params.items()}
    prev = {n: t.detach().clone() for n, t in params.items()}
    ema = {n: t.detach().clone() for n, t in params.items()}
    mesa_ema = {n: t.detach().clone() for n, t in params.items()}
    out = []

    def loss_with_reg(frozen, noise_on=False):
        logits, loss = fwd(params, bufs, noise_on, frozen)
        d = 0.0
        if reg is not None:
            kind, lam = reg
            if kind == "trpo":
                with torch.no_grad():
                    t, _ = fwd(prev, bufs, False, True)
                k = kl(t, logits)
                loss, d = loss + lam * k, k.item()
            elif kind in ("r3f", "r3f-onesided"):
                nl, _ = fwd(params, bufs, True, True)
                s = kl(nl, logits)  # KL(p(x+z) || p(x)): the noised predictions are the target
                if kind == "r3f":
                    s = s + kl(logits, nl)
                loss, d = loss + lam * s, s.item()
            elif kind == "mesa":
                with torch.no_grad():
                    t, _ = fwd(mesa_ema, bufs, False, True)
                k = MESA_TAU ** 2 * kl(t / MESA_TAU, logits / MESA_TAU)
                loss, d = loss + lam * k, k.item()
            elif kind == "l2sp":
                sq = sum(((params[n] - theta0[n]) ** 2).sum() for n in names if n not in L2SP_HEAD[pname])
                loss, d = loss + lam / 2 * sq, 0.5 * sq.item()
        return logits, loss, d

    for step in range(STEPS):
        for p in plist:
            p.grad = None
        first_noise = pert is not None and pert[3].get("first_noise", False)
        logits, loss, d = loss_with_reg(False, first_noise)
        loss.backward()
        rec = {"loss": loss.item(), "d": 0.0, "radius": 0.0, "reg_d": d, "eps_norm": 0.0}
        if pert is not None:
            kind, rad, direction, o = pert
            with torch.no_grad():
                if kind == "tr":
                    ref = {"theta0": theta0, "prev": prev, "ema": ema}.get(rad)
                    t, _ = fwd(params if rad == "x" else ref, bufs, rad == "x", True)
                    dt = kl(t.double(), logits.detach().double()).item()
                    r = min(o.get("kappa", 1.0) * dt, o.get("max_radius", math.inf))
                else:
                    dt = r = rad
                rec["d"], rec["radius"] = dt, r
                eps = {}
                if direction == "sam":
                    n = torch.sqrt(sum((params[k].grad.double() ** 2).sum() for k in names))
                    for k in names:
                        eps[k] = r * params[k].grad.double() / (n + 1e-12)
                elif direction == "adaptive":
                    eta, wo = o.get("eta", 0.0), o.get("weights_only", False)
                    # weights-only: ASAM's own rule, T on the parameters whose name contains "weight"
                    T = {k: (params[k].detach().double().abs() + eta) if (not wo or "weight" in k) else torch.ones_like(params[k], dtype=torch.float64) for k in names}
                    n = torch.sqrt(sum(((T[k] * params[k].grad.double()) ** 2).sum() for k in names))
                    for k in names:
                        gk = torch.ones_like(T[k]) if o.get("no_grad_factor") else params[k].grad.double()
                        eps[k] = r * T[k] ** 2 * gk / (n + 1e-12)
                else:  # fisher
                    eta = o["eta"]
                    den = torch.sqrt(sum((params[k].grad.double() ** 2 / (1 + eta * params[k].grad.double() ** 2)).sum() for k in names) + 1e-12)
                    for k in names:
                        gk = params[k].grad.double()
                        eps[k] = r * (gk / (1 + eta * gk ** 2)) / den
                rec["eps_norm"] = math.sqrt(sum((e ** 2).sum().item() for e in eps.values()))
                saved = {k: params[k].detach().clone() for k in names}
                for k in names:
                    params[k].add_(eps[k].float())
            for p in plist:
                p.grad = None
            _, loss2, _ = loss_with_reg(True)
            loss2.backward()
            with torch.no_grad():
                for k in names:
                    params[k].copy_(saved[k])
        with torch.no_grad():  # targets see θ_t before the base update
            for k in names:
                prev[k].copy_(params[k])
                ema[k].mul_(0.9).add_(0.1 * params[k])
                mesa_ema[k].mul_(MESA_BETA).add_((1 - MESA_BETA) * params[k])
        opt.step()
        rec["params"] = torch.cat([params[k].detach().reshape(-1) for k in names])
        out.append(rec)
    return out


def main():
    tensors, meta = {}, {"steps": STEPS, "mesa_beta": MESA_BETA, "mesa_tau": MESA_TAU, "ema_beta": 0.9,
                         "l2sp_lambda": L2SP_LAMBDA, "l2sp_head": L2SP_HEAD, "cases": []}
    for pname, prob in [("mlp", mlp_problem()), ("gpt", gpt_problem())]:
        tensors.update(prob["data"])
        tensors[f"noise.{pname}"] = prob["noise"]
        tensors[f"{pname}.init"] = torch.cat([t.reshape(-1) for t in prob["params"].values()])
        meta[f"{pname}_names"] = list(prob["params"])
        for m in METHODS:
            if (pname == "mlp" and m == "adamw") or (pname == "gpt" and m == "sgd"):
                continue
            traj = run(prob, m, pname)
            case = f"{pname}/{m}"
            meta["cases"].append({"case": case, "problem": pname, "method": m,
                                  "loss": [r["loss"] for r in traj], "d": [r["d"] for r in traj],
                                  "radius": [r["radius"] for r in traj], "reg_d": [r["reg_d"] for r in traj],
                                  "eps_norm": [r["eps_norm"] for r in traj]})
            for s, r in enumerate(traj):
                tensors[f"{case}/{s}"] = r["params"]
    save(os.path.join(HERE, "sharp_golden.safetensors"), tensors)
    with open(os.path.join(HERE, "sharp_golden.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(len(meta["cases"]), "cases")


main()
