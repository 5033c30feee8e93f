#!/usr/bin/env python3
"""Reference BERT / RoBERTa encoders (Hugging Face layouts) for tram's interop tests.

Run: /usr/bin/python3 models/testdata/torch/gen_bert.py   (Debian python3-torch)
Writes two model directories and their expected outputs:
  bert_cls/      model_type "bert", BertForSequenceClassification names ("bert." prefix,
                 pooler, classifier), hidden_act "gelu" (erf), token types, padding mask;
                 loss = cross-entropy of the 3-way labels.
  roberta_mlm/   model_type "roberta", RobertaForMaskedLM names ("roberta." prefix, lm_head.*,
                 decoder tied to the word embeddings, not stored), positions from pad+1;
                 loss = cross-entropy over masked positions (label -100 elsewhere).
*_expected.safetensors hold input_ids, token_type_ids, attention_mask, labels, logits,
loss and "grad.<parameter name as stored>" for every parameter.
"""
import json, math, os
import torch
import torch.nn.functional as F
from safetensors_io import save

HERE = os.path.dirname(os.path.abspath(__file__))


def build(cfg, head, seed):
    g = torch.Generator().manual_seed(seed)
    D, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    P = {}
    def add(n, *shape, ln=False):
        t = torch.randn(*shape, generator=g) * 0.2
        if ln:
            t = t + 1 if n.endswith("weight") else t
        P[n] = t
    add("embeddings.word_embeddings.weight", V, D)
    add("embeddings.position_embeddings.weight", cfg["max_position_embeddings"], D)
    add("embeddings.token_type_embeddings.weight", cfg["type_vocab_size"], D)
    add("embeddings.LayerNorm.weight", D, ln=True); add("embeddings.LayerNorm.bias", D, ln=True)
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        for n in ["query", "key", "value"]:
            add(p + f"attention.self.{n}.weight", D, D); add(p + f"attention.self.{n}.bias", D)
        add(p + "attention.output.dense.weight", D, D); add(p + "attention.output.dense.bias", D)
        add(p + "attention.output.LayerNorm.weight", D, ln=True); add(p + "attention.output.LayerNorm.bias", D, ln=True)
        add(p + "intermediate.dense.weight", I, D); add(p + "intermediate.dense.bias", I)
        add(p + "output.dense.weight", D, I); add(p + "output.dense.bias", D)
        add(p + "output.LayerNorm.weight", D, ln=True); add(p + "output.LayerNorm.bias", D, ln=True)
    if head == "cls":
        add("pooler.dense.weight", D, D); add("pooler.dense.bias", D)
        add("classifier.weight", 3, D); add("classifier.bias", 3)
    else:
        add("lm_head.dense.weight", D, D); add("lm_head.dense.bias", D)
        add("lm_head.layer_norm.weight", D, ln=True); add("lm_head.layer_norm.bias", D, ln=True)
        add("lm_head.bias", V)
    return {k: v.requires_grad_(True) for k, v in P.items()}


def encoder(P, cfg, ids, types, mask, roberta):
    B, T = ids.shape
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    eps = cfg["layer_norm_eps"]
    if roberta:
        pad = cfg["pad_token_id"]
        m = (ids != pad).long()
        pos = torch.cumsum(m, 1) * m + pad
    else:
        pos = torch.arange(T).expand(B, T)
    x = P["embeddings.word_embeddings.weight"][ids] + P["embeddings.position_embeddings.weight"][pos] + P["embeddings.token_type_embeddings.weight"][types]
    x = F.layer_norm(x, (D,), P["embeddings.LayerNorm.weight"], P["embeddings.LayerNorm.bias"], eps)
    add_mask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    hd = D // H
    for l in range(cfg["num_hidden_layers"]):
        q = lambda n: P[f"encoder.layer.{l}.{n}"]
        lin = lambda t, n: t @ q(n + ".weight").t() + q(n + ".bias")
        Q, K, Vv = [lin(x, f"attention.self.{n}").view(B, T, H, hd).transpose(1, 2) for n in ("query", "key", "value")]
        att = ((Q @ K.transpose(-2, -1)) / math.sqrt(hd) + add_mask).softmax(-1)
        y = (att @ Vv).transpose(1, 2).reshape(B, T, D)
        x = F.layer_norm(x + lin(y, "attention.output.dense"), (D,), q("attention.output.LayerNorm.weight"), q("attention.output.LayerNorm.bias"), eps)
        h = F.gelu(lin(x, "intermediate.dense"))
        x = F.layer_norm(x + lin(h, "output.dense"), (D,), q("output.LayerNorm.weight"), q("output.LayerNorm.bias"), eps)
    return x


def case(name, cfg, head, prefix, seed):
    torch.manual_seed(seed)
    P = build(cfg, head, seed)
    B, T, V = 3, 9, cfg["vocab_size"]
    roberta = cfg["model_type"] != "bert"
    ids = torch.randint(3, V, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 6:] = 0; mask[2, 4:] = 0
    ids[mask == 0] = cfg["pad_token_id"]
    types = torch.zeros(B, T, dtype=torch.long)
    if not roberta:
        types[:, 5:] = 1
    h = encoder(P, cfg, ids, types, mask, roberta)
    if head == "cls":
        pooled = torch.tanh(h[:, 0] @ P["pooler.dense.weight"].t() + P["pooler.dense.bias"])
        logits = pooled @ P["classifier.weight"].t() + P["classifier.bias"]
        labels = torch.tensor([0, 2, 1])
        loss = F.cross_entropy(logits, labels)
    else:
        t = F.gelu(h @ P["lm_head.dense.weight"].t() + P["lm_head.dense.bias"])
        t = F.layer_norm(t, (cfg["hidden_size"],), P["lm_head.layer_norm.weight"], P["lm_head.layer_norm.bias"], cfg["layer_norm_eps"])
        logits = t @ P["embeddings.word_embeddings.weight"].t() + P["lm_head.bias"]
        labels = torch.full((B, T), -100)
        labels[0, 1], labels[0, 4], labels[1, 2], labels[2, 0] = 5, 7, 11, 3
        loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
    loss.backward()
    stored = lambda k: k if (k.startswith("classifier") or k.startswith("lm_head")) else prefix + k
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    save(os.path.join(d, "model.safetensors"), {stored(k): v for k, v in P.items()}, {"format": "pt"})
    exp = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": labels, "logits": logits, "loss": loss.reshape(1)}
    exp.update({"grad." + stored(k): v.grad for k, v in P.items()})
    save(os.path.join(HERE, name + "_expected.safetensors"), exp)
    print(name, "loss", loss.item())


base = dict(vocab_size=41, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
            hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12,
            initializer_range=0.02)
case("bert_cls", dict(base, model_type="bert", max_position_embeddings=16, type_vocab_size=2, pad_token_id=0,
                      id2label={"0": "a", "1": "b", "2": "c"}, architectures=["BertForSequenceClassification"]), "cls", "bert.", 5)
case("roberta_mlm", dict(base, model_type="roberta", max_position_embeddings=16, type_vocab_size=1, pad_token_id=1,
                         layer_norm_eps=1e-5, architectures=["RobertaForMaskedLM"]), "mlm", "roberta.", 6)
