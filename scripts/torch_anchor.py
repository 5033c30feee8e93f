#!/usr/bin/env python3
"""PyTorch CPU anchor for `tram bench`.

Times one training step of tram's reference workloads in PyTorch, on the same
machine and with the same thread count, so that `tram bench` can be read as a
ratio to a mainstream framework. scripts/bench_report.sh (`make bench-report`)
runs both back to back.

Needs Debian's PyTorch (`apt-get install python3-torch`); run it with
/usr/bin/python3:

    /usr/bin/python3 scripts/torch_anchor.py [--threads 2] [--only mlp,gpt,cnn,bert]
        [--methods sgd,adamw,sam,tram] [--seconds 5]

Output: one JSON object per (workload, method) on stdout, in this schema
(`tram bench --json` writes the same keys plus its own):

    {"workload", "method", "ms_per_step", "steps", "threads", "torch"}

Workloads. The Go package bench/ (`tram bench`) builds all four with
exactly these shapes; change both or neither.
  mlp  batch 256, 784-512-512-10, ReLU, cross-entropy.
  gpt  GPT-2-style pre-LayerNorm decoder: vocab 4096, d_model 256, 4 layers,
       4 heads, context 128, batch 16, tanh-GELU MLP (4x), learned positions,
       untied LM head; cross-entropy over every position.
  cnn  ResNet-style CNN for 28x28 gray images, batch 128: conv3x3(1->32)+BN+ReLU,
       then three stages of one torchvision-style BasicBlock each (widths 32, 64,
       128; stride 2 in stages 2 and 3 with a 1x1 conv + BN downsample), global
       average pool, linear 128->10; train mode (batch statistics).
  bert BERT-style post-LayerNorm encoder: vocab 8192, hidden 256, 4 layers,
       4 heads, intermediate 1024, erf-GELU, sequence 64, batch 32, learned
       positions and token types, tanh pooler on the first token, 8 labels.

Methods (the base optimizer is AdamW with PyTorch's defaults, lr 1e-3, except
for sgd: plain SGD, lr 1e-2), mirroring what `tram bench` runs:
  sgd, adamw  one forward, backward and update.
  sam         SAM, rho 0.05: pass 1 at theta, eps = rho g/(||g||+1e-12), pass 2 at
              theta+eps, restore theta from a copy, update with the pass-2 gradient.
  tram        TRAM-x (sharp's tram-x; docs/METHOD.md): pass 1, then one no-grad
              forward of the same parameters on inputs noised with N(0, 0.01^2)
              (on the token embeddings before positions for gpt and bert, on
              the input for mlp and cnn), d = mean over rows of
              KL(p_noised || p_clean), eps = d theta^2 g/(|| |theta| g || + 1e-12),
              pass 2 at theta+eps on clean inputs, restore, update:
              3 forward and 2 backward passes.
Batch norm updates its running statistics in pass 1 only (momentum 0 in the
other passes), as tram does. The data are fixed random tensors (seed 0): the
benchmark times steps, it does not learn anything.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIGMA = 0.01  # TRAM-x input noise, tram's default
RHO = 0.05    # SAM radius, tram's default


def noised(x, noise):
    """x plus N(0, noise^2) draws, or x itself when noise is 0."""
    return x + noise * torch.randn_like(x) if noise else x


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, 10)

    def forward(self, x, noise=0.0):
        x = noised(x, noise)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def heads(t, h):
    """[B, T, C] -> [B, h, T, C/h]."""
    B, T, C = t.shape
    return t.view(B, T, h, C // h).transpose(1, 2)


class DecoderBlock(nn.Module):
    """Pre-LayerNorm causal self-attention and tanh-GELU MLP."""

    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = (heads(t, self.h) for t in self.c_attn(self.ln_1(x)).split(C, dim=2))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.h)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        x = x + self.attn_proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab=4096, d=256, layers=4, h=4, ctx=128):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList([DecoderBlock(d, h) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx, noise=0.0):
        T = idx.shape[1]
        x = noised(self.wte(idx), noise) + self.wpe(torch.arange(T))
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        for b in self.blocks:
            x = b(x, mask)
        return self.lm_head(self.ln_f(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class CNN(nn.Module):
    def __init__(self, widths=(32, 64, 128), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, cin = [], widths[0]
        for i, w in enumerate(widths):
            stages.append(BasicBlock(cin, w, 1 if i == 0 else 2))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x, noise=0.0):
        x = noised(x, noise)
        h = self.stages(F.relu(self.bn1(self.conv1(x))))
        return self.fc(h.mean(dim=(2, 3)))


class EncoderLayer(nn.Module):
    """Post-LayerNorm bidirectional self-attention and erf-GELU MLP."""

    def __init__(self, d, h, inter):
        super().__init__()
        self.h = h
        self.qkv = nn.Linear(d, 3 * d)
        self.attn_out = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d, eps=1e-12)
        self.inter = nn.Linear(d, inter)
        self.out = nn.Linear(inter, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (heads(t, self.h) for t in self.qkv(x).split(C, dim=2))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(C // self.h)).softmax(-1)
        x = self.ln1(x + self.attn_out((att @ v).transpose(1, 2).reshape(B, T, C)))
        return self.ln2(x + self.out(F.gelu(self.inter(x))))


class BERT(nn.Module):
    def __init__(self, vocab=8192, d=256, layers=4, h=4, inter=1024, ctx=64, labels=8):
        super().__init__()
        self.word = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(ctx, d)
        self.token_type = nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList([EncoderLayer(d, h, inter) for _ in range(layers)])
        self.pooler = nn.Linear(d, d)
        self.classifier = nn.Linear(d, labels)

    def forward(self, idx, noise=0.0):
        T = idx.shape[1]
        x = noised(self.word(idx), noise) + self.pos(torch.arange(T)) + self.token_type(torch.zeros_like(idx))
        x = self.ln(x)
        for layer in self.layers:
            x = layer(x)
        return self.classifier(torch.tanh(self.pooler(x[:, 0])))


def workload(name):
    """Returns the model and a function noise -> (logits [rows, classes], labels [rows])."""
    torch.manual_seed(0)
    if name == "mlp":
        m, x, y = MLP(), torch.randn(256, 784), torch.randint(0, 10, (256,))
        return m, lambda noise=0.0: (m(x, noise), y)
    if name == "gpt":
        m = GPT()
        idx, tgt = torch.randint(0, 4096, (16, 128)), torch.randint(0, 4096, (16, 128))
        return m, lambda noise=0.0: (m(idx, noise).reshape(-1, 4096), tgt.reshape(-1))
    if name == "cnn":
        m, x, y = CNN(), torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))
        return m, lambda noise=0.0: (m(x, noise), y)
    if name == "bert":
        m, idx, y = BERT(), torch.randint(0, 8192, (32, 64)), torch.randint(0, 8, (32,))
        return m, lambda noise=0.0: (m(idx, noise), y)
    raise SystemExit(f"unknown workload {name!r}; valid workloads: mlp, gpt, cnn, bert")


def set_bn_momentum(model, momentum):
    """momentum 0 freezes batch-norm running statistics (davda54's SAM trick);
    None restores PyTorch's default 0.1."""
    for mod in model.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.momentum = 0.1 if momentum is None else momentum


def make_step(model, run, method):
    if method == "sgd":
        base = torch.optim.SGD(model.parameters(), lr=1e-2)
    else:
        base = torch.optim.AdamW(model.parameters(), lr=1e-3)
    params = list(model.parameters())
    model.train()

    def plain():
        base.zero_grad(set_to_none=True)
        logits, y = run()
        F.cross_entropy(logits, y).backward()
        base.step()

    def sharp(trust_region):
        # Pass 1 at theta on the clean batch.
        base.zero_grad(set_to_none=True)
        logits, y = run()
        F.cross_entropy(logits, y).backward()
        set_bn_momentum(model, 0.0)
        with torch.no_grad():
            if trust_region:
                # The target: the same parameters on noised inputs, no gradient.
                target, _ = run(SIGMA)
                d = F.kl_div(F.log_softmax(logits.detach(), -1), F.log_softmax(target, -1),
                             log_target=True, reduction="batchmean")
                norm = torch.norm(torch.stack([(p.abs() * p.grad).norm() for p in params]))
                scale = d / (norm + 1e-12)
                eps = [p * p * p.grad * scale for p in params]
            else:
                norm = torch.norm(torch.stack([p.grad.norm() for p in params]))
                scale = RHO / (norm + 1e-12)
                eps = [p.grad * scale for p in params]
            saved = [p.detach().clone() for p in params]
            for p, e in zip(params, eps):
                p.add_(e)
        # Pass 2 at theta + eps on the clean batch, batch-norm statistics frozen.
        base.zero_grad(set_to_none=True)
        logits2, y2 = run()
        F.cross_entropy(logits2, y2).backward()
        set_bn_momentum(model, None)
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)  # restore theta exactly
        base.step()

    steps = {"sgd": plain, "adamw": plain, "sam": lambda: sharp(False), "tram": lambda: sharp(True)}
    if method not in steps:
        raise SystemExit(f"unknown method {method!r}; valid methods: sgd, adamw, sam, tram")
    return steps[method]


def main():
    ap = argparse.ArgumentParser(
        description="Time training steps of tram's reference workloads in PyTorch (CPU); "
        "one JSON line per (workload, method).")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--only", default="mlp,gpt", help="comma-separated workloads: mlp, gpt, cnn, bert (default mlp,gpt)")
    ap.add_argument("--methods", default="sgd,adamw,sam,tram", help="comma-separated methods: sgd, adamw, sam, tram")
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="time budget per (workload, method): two warm-up steps, then steps until "
                    "the budget has elapsed and at least three ran (default 5)")
    a = ap.parse_args()
    if a.threads < 1 or a.seconds <= 0:
        raise SystemExit("--threads must be >= 1 and --seconds > 0")
    torch.set_num_threads(a.threads)
    for w in a.only.split(","):
        for meth in a.methods.split(","):
            model, run = workload(w)
            step = make_step(model, run, meth)
            for _ in range(2):
                step()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < a.seconds or n < 3:
                step()
                n += 1
            ms = (time.perf_counter() - t0) / n * 1e3
            print(json.dumps({"workload": w, "method": meth, "ms_per_step": round(ms, 3), "steps": n,
                              "threads": a.threads, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
