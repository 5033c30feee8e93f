#!/usr/bin/env python3
"""Reference ResNet-style CNN (torchvision BasicBlock names) for tram's interop tests.

Run: /usr/bin/python3 models/testdata/torch/gen_cnn.py   (Debian python3-torch)
Writes cnn/{config.json,model.safetensors} (parameters and batch-norm buffers,
num_batches_tracked as I64) and cnn_expected.safetensors: images x, labels,
train-mode logits (batch statistics, running statistics updated with momentum
0.1), eval-mode logits (running statistics, after the update), the loss, the
gradient of every parameter ("grad.<name>") and the running statistics after
the training forward ("after.<name>").
"""
import json, os
import torch
import torch.nn.functional as F
from safetensors_io import save

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(3)
cfg = {"model_type": "tram-resnet", "in_channels": 1, "image_size": 12, "num_classes": 5, "widths": [4, 6, 8]}
P, Bf = {}, {}

def conv(name, i, o, k):
    P[name + ".weight"] = torch.randn(o, i, k, k) * (2.0 / (i * k * k)) ** 0.5

def bn(name, c):
    P[name + ".weight"] = 1 + 0.1 * torch.randn(c)
    P[name + ".bias"] = 0.1 * torch.randn(c)
    Bf[name + ".running_mean"] = 0.1 * torch.randn(c)
    Bf[name + ".running_var"] = 1 + 0.1 * torch.rand(c)
    Bf[name + ".num_batches_tracked"] = torch.tensor(3, dtype=torch.int64)

w = cfg["widths"]
conv("conv1", 1, w[0], 3); bn("bn1", w[0])
cin = w[0]
for s, out in enumerate(w):
    p = f"layer{s + 1}.0."
    stride = 1 if s == 0 else 2
    conv(p + "conv1", cin, out, 3); bn(p + "bn1", out)
    conv(p + "conv2", out, out, 3); bn(p + "bn2", out)
    if stride != 1 or cin != out:
        conv(p + "downsample.0", cin, out, 1); bn(p + "downsample.1", out)
    cin = out
P["fc.weight"] = 0.3 * torch.randn(cfg["num_classes"], cin)
P["fc.bias"] = 0.1 * torch.randn(cfg["num_classes"])
for t in P.values():
    t.requires_grad_(True)
init_buffers = {k: v.clone() for k, v in Bf.items()}

def forward(x, training):
    def b(name, h):
        if training:
            Bf[name + ".num_batches_tracked"] += 1
        return F.batch_norm(h, Bf[name + ".running_mean"], Bf[name + ".running_var"], P[name + ".weight"], P[name + ".bias"],
                            training=training, momentum=0.1, eps=1e-5)
    h = F.relu(b("bn1", F.conv2d(x, P["conv1.weight"], padding=1)))
    cin = w[0]
    for s, out in enumerate(w):
        p = f"layer{s + 1}.0."
        stride = 1 if s == 0 else 2
        y = F.relu(b(p + "bn1", F.conv2d(h, P[p + "conv1.weight"], stride=stride, padding=1)))
        y = b(p + "bn2", F.conv2d(y, P[p + "conv2.weight"], padding=1))
        short = h
        if p + "downsample.0.weight" in P:
            short = b(p + "downsample.1", F.conv2d(h, P[p + "downsample.0.weight"], stride=stride))
        h = F.relu(y + short)
        cin = out
    h = F.avg_pool2d(h, h.shape[2]).flatten(1)
    return h @ P["fc.weight"].t() + P["fc.bias"]

x = torch.randn(4, 1, 12, 12)
y = torch.tensor([0, 3, 1, 4])
logits = forward(x, True)
loss = F.cross_entropy(logits, y)
loss.backward()
with torch.no_grad():
    eval_logits = forward(x, False)

os.makedirs(os.path.join(HERE, "cnn"), exist_ok=True)
with open(os.path.join(HERE, "cnn", "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
save(os.path.join(HERE, "cnn", "model.safetensors"), dict(**{k: v for k, v in P.items()}, **init_buffers), {"format": "pt"})
exp = {"x": x, "labels": y, "logits": logits, "eval_logits": eval_logits, "loss": loss.reshape(1)}
exp.update({"grad." + k: v.grad for k, v in P.items()})
exp.update({"after." + k: v.float() for k, v in Bf.items()})
save(os.path.join(HERE, "cnn_expected.safetensors"), exp)
print("loss", loss.item())
