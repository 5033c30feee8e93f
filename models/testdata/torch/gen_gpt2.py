#!/usr/bin/env python3
"""Reference GPT-2 (Hugging Face GPT2LMHeadModel layout) for tram's interop tests.

Run: /usr/bin/python3 models/testdata/torch/gen_gpt2.py   (Debian python3-torch)
Writes models/testdata/torch/gpt2/{config.json,model.safetensors} (HF names with the
"transformer." prefix, Conv1D weights [in, out], lm_head tied to wte and not stored)
and gpt2_expected.safetensors: input_ids, logits for every position, the LM loss
(mean cross-entropy of ids[:,1:] from positions 0..T-2) and the gradient of that
loss for every parameter ("grad.<name>").
"""
import json, math, os
import torch
import torch.nn.functional as F
from safetensors_io import save

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)
cfg = dict(model_type="gpt2", vocab_size=61, n_positions=16, n_embd=32, n_layer=2, n_head=4,
           layer_norm_epsilon=1e-5, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
           attn_pdrop=0.0, initializer_range=0.02, architectures=["GPT2LMHeadModel"])
V, P, D, L, H = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"], cfg["n_head"]

params = {}
def p(name, *shape, std=0.2, ones=False):
    t = torch.ones(*shape) if ones else torch.randn(*shape) * std
    params[name] = t.requires_grad_(True)
    return params[name]

p("wte.weight", V, D); p("wpe.weight", P, D)
for l in range(L):
    for n, shape in [("ln_1.weight", (D,)), ("ln_1.bias", (D,)), ("attn.c_attn.weight", (D, 3 * D)), ("attn.c_attn.bias", (3 * D,)),
                     ("attn.c_proj.weight", (D, D)), ("attn.c_proj.bias", (D,)), ("ln_2.weight", (D,)), ("ln_2.bias", (D,)),
                     ("mlp.c_fc.weight", (D, 4 * D)), ("mlp.c_fc.bias", (4 * D,)), ("mlp.c_proj.weight", (4 * D, D)), ("mlp.c_proj.bias", (D,))]:
        ln_gain = n.endswith("weight") and n.startswith("ln")
        t = p(f"h.{l}.{n}", *shape)
        if ln_gain:
            with torch.no_grad():
                t.add_(1.0)
p("ln_f.weight", D); p("ln_f.bias", D)
with torch.no_grad():
    params["ln_f.weight"].add_(1.0)

def forward(ids):
    B, T = ids.shape
    x = params["wte.weight"][ids] + params["wpe.weight"][:T]
    hd = D // H
    for l in range(L):
        q = lambda n: params[f"h.{l}.{n}"]
        h = F.layer_norm(x, (D,), q("ln_1.weight"), q("ln_1.bias"), 1e-5)
        qkv = h @ q("attn.c_attn.weight") + q("attn.c_attn.bias")
        qq, kk, vv = qkv.split(D, dim=2)
        qq, kk, vv = [t.view(B, T, H, hd).transpose(1, 2) for t in (qq, kk, vv)]
        att = (qq @ kk.transpose(-2, -1)) / math.sqrt(hd)
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
        y = (att @ vv).transpose(1, 2).reshape(B, T, D)
        x = x + (y @ q("attn.c_proj.weight") + q("attn.c_proj.bias"))
        h = F.layer_norm(x, (D,), q("ln_2.weight"), q("ln_2.bias"), 1e-5)
        h = F.gelu(h @ q("mlp.c_fc.weight") + q("mlp.c_fc.bias"), approximate="tanh")
        x = x + (h @ q("mlp.c_proj.weight") + q("mlp.c_proj.bias"))
    x = F.layer_norm(x, (D,), params["ln_f.weight"], params["ln_f.bias"], 1e-5)
    return x @ params["wte.weight"].t()

ids = torch.randint(0, V, (3, 12))
logits = forward(ids)
loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
loss.backward()

os.makedirs(os.path.join(HERE, "gpt2"), exist_ok=True)
with open(os.path.join(HERE, "gpt2", "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
save(os.path.join(HERE, "gpt2", "model.safetensors"), {"transformer." + k: v for k, v in params.items()}, {"format": "pt"})
exp = {"input_ids": ids, "logits": logits, "loss": loss.reshape(1)}
exp.update({"grad." + k: v.grad for k, v in params.items()})
save(os.path.join(HERE, "gpt2_expected.safetensors"), exp)
print("loss", loss.item())
