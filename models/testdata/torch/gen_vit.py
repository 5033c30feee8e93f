#!/usr/bin/env python3
"""Reference Vision Transformer (Hugging Face ViTForImageClassification layout) for tram's interop test.

Run: /usr/bin/python3 models/testdata/torch/gen_vit.py   (Debian python3-torch; no transformers needed)
Writes:
  vit_cls/                       config.json (model_type "vit") and model.safetensors with the names
                                 save_pretrained gives a ViTForImageClassification: "vit." prefix on the
                                 embeddings, encoder and final layernorm, "classifier.*" without it, no pooler.
  vit_cls_expected.safetensors   pixel_values [3, 3, 8, 8], labels, logits, loss (cross-entropy of the
                                 3-way labels) and "grad.<stored name>" for every parameter.

The forward pass is written here from the algorithm of Hugging Face's modeling_vit.py, independently
of tram: patches by F.conv2d (kernel = stride = patch_size), class token prepended, position
embeddings added, pre-LN blocks (layernorm_before → self-attention → output dense → residual;
layernorm_after → intermediate → erf GELU → output dense → residual), final layernorm, classifier on
the class token. Dropout probabilities are 0.
"""
import json, math, os
import torch
import torch.nn.functional as F
from safetensors_io import save

HERE = os.path.dirname(os.path.abspath(__file__))

cfg = dict(
    model_type="vit", architectures=["ViTForImageClassification"],
    hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
    hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    initializer_range=0.02, layer_norm_eps=1e-12, image_size=8, patch_size=4, num_channels=3,
    qkv_bias=True, encoder_stride=4,
    id2label={"0": "cat", "1": "dog", "2": "fox"}, label2id={"cat": 0, "dog": 1, "fox": 2},
)


def build(seed):
    g = torch.Generator().manual_seed(seed)
    D, I, C, Pz = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_channels"], cfg["patch_size"]
    L = (cfg["image_size"] // Pz) ** 2
    P = {}

    def add(n, *shape, ln=False):
        t = torch.randn(*shape, generator=g) * 0.2
        if ln and n.endswith("weight"):
            t = t + 1
        P[n] = t

    add("embeddings.cls_token", 1, 1, D)
    add("embeddings.position_embeddings", 1, L + 1, D)
    add("embeddings.patch_embeddings.projection.weight", D, C, Pz, Pz)
    add("embeddings.patch_embeddings.projection.bias", D)
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        for n in ("query", "key", "value"):
            add(p + f"attention.attention.{n}.weight", D, D); add(p + f"attention.attention.{n}.bias", D)
        add(p + "attention.output.dense.weight", D, D); add(p + "attention.output.dense.bias", D)
        add(p + "intermediate.dense.weight", I, D); add(p + "intermediate.dense.bias", I)
        add(p + "output.dense.weight", D, I); add(p + "output.dense.bias", D)
        add(p + "layernorm_before.weight", D, ln=True); add(p + "layernorm_before.bias", D, ln=True)
        add(p + "layernorm_after.weight", D, ln=True); add(p + "layernorm_after.bias", D, ln=True)
    add("layernorm.weight", D, ln=True); add("layernorm.bias", D, ln=True)
    add("classifier.weight", len(cfg["id2label"]), D); add("classifier.bias", len(cfg["id2label"]))
    return {k: v.requires_grad_(True) for k, v in P.items()}


def forward(P, x):
    B = x.shape[0]
    D, H, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = D // H
    e = F.conv2d(x, P["embeddings.patch_embeddings.projection.weight"], P["embeddings.patch_embeddings.projection.bias"],
                 stride=cfg["patch_size"])
    e = e.flatten(2).transpose(1, 2)  # [B, L, D]
    h = torch.cat([P["embeddings.cls_token"].expand(B, -1, -1), e], dim=1) + P["embeddings.position_embeddings"]
    T = h.shape[1]
    for l in range(cfg["num_hidden_layers"]):
        q = lambda n: P[f"encoder.layer.{l}.{n}"]
        lin = lambda t, n: t @ q(n + ".weight").t() + q(n + ".bias")
        ln = lambda t, n: F.layer_norm(t, (D,), q(n + ".weight"), q(n + ".bias"), eps)
        a = ln(h, "layernorm_before")
        Q, K, V = [lin(a, f"attention.attention.{n}").view(B, T, H, hd).transpose(1, 2) for n in ("query", "key", "value")]
        probs = ((Q @ K.transpose(-2, -1)) / math.sqrt(hd)).softmax(-1)
        y = (probs @ V).transpose(1, 2).reshape(B, T, D)
        h = lin(y, "attention.output.dense") + h
        m = F.gelu(lin(ln(h, "layernorm_after"), "intermediate.dense"))
        h = lin(m, "output.dense") + h
    h = F.layer_norm(h, (D,), P["layernorm.weight"], P["layernorm.bias"], eps)
    return h[:, 0] @ P["classifier.weight"].t() + P["classifier.bias"]


torch.manual_seed(7)
P = build(7)
x = torch.randn(3, cfg["num_channels"], cfg["image_size"], cfg["image_size"])
labels = torch.tensor([0, 2, 1])
logits = forward(P, x)
loss = F.cross_entropy(logits, labels)
loss.backward()

stored = lambda k: k if k.startswith("classifier") else "vit." + k
d = os.path.join(HERE, "vit_cls")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
save(os.path.join(d, "model.safetensors"), {stored(k): v for k, v in P.items()}, {"format": "pt"})
exp = {"pixel_values": x, "labels": labels, "logits": logits, "loss": loss.reshape(1)}
exp.update({"grad." + stored(k): v.grad for k, v in P.items()})
save(os.path.join(HERE, "vit_cls_expected.safetensors"), exp)
print("vit_cls loss", loss.item())
