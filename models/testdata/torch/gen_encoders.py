#!/usr/bin/env python3
"""Reference RoBERTa, XLM-R and DistilBERT models (Hugging Face layouts) for tram's interop tests.

Run: /usr/bin/python3 models/testdata/torch/gen_encoders.py   (Debian python3-torch; no transformers)

An independent re-implementation of Hugging Face's modeling_roberta.py / modeling_distilbert.py
algorithms: the modules below are nested exactly as Hugging Face nests them, so that
state_dict() names are the names save_pretrained writes. gen_bert.py (bert_cls, roberta_mlm)
is left alone. Writes four model directories and their expected outputs:
  roberta_cls/     model_type "roberta", RobertaForSequenceClassification ("roberta." prefix,
                   no pooler, classifier.dense -> tanh -> classifier.out_proj), positions from
                   pad+1, padding positions get the padding index; 3 labels.
  xlmr_cls/        model_type "xlm-roberta", the same architecture with type_vocab_size 1,
                   pad_token_id 1, another shape, max_position_embeddings = T + pad + 1
                   (the longest sequence uses the last position); 2 labels.
  distilbert_cls/  model_type "distilbert", DistilBertForSequenceClassification ("distilbert."
                   prefix, pre_classifier -> ReLU -> classifier), DistilBERT's config.json keys,
                   activation "gelu"; 3 labels.
  distilbert_mlm/  model_type "distilbert", DistilBertForMaskedLM (vocab_transform ->
                   activation -> vocab_layer_norm -> vocab_projector tied to the word embeddings;
                   vocab_projector.weight is not stored, as save_pretrained drops tied weights),
                   activation "relu"; loss over masked positions (label -100 elsewhere).
*_expected.safetensors hold input_ids, token_type_ids (RoBERTa and XLM-R only),
attention_mask, labels, logits, loss and "grad.<parameter name as stored>" for every parameter.
Every dropout is 0 in the configs and the models run in eval mode.
"""
import json, math, os
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors_io import save

HERE = os.path.dirname(os.path.abspath(__file__))
B, T = 3, 9


def activation(name):
    return {"gelu": lambda x: F.gelu(x), "relu": F.relu}[name]  # HF "gelu" is the exact (erf) GELU


# ---------------------------------------------------------------- RoBERTa / XLM-R

class RobEmbeddings(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.pad = c["pad_token_id"]
        s.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=s.pad)
        s.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"], padding_idx=s.pad)
        s.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        s.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        s.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(s, ids, types):
        # Positions count the non-padding tokens from padding_idx + 1; padding keeps padding_idx.
        real = ids.ne(s.pad).int()
        pos = (torch.cumsum(real, dim=1).type_as(real) * real).long() + s.pad
        e = s.word_embeddings(ids) + s.token_type_embeddings(types) + s.position_embeddings(pos)
        return s.dropout(s.LayerNorm(e))


class RobSelf(nn.Module):
    def __init__(s, c):
        super().__init__()
        D = c["hidden_size"]
        s.h, s.d = c["num_attention_heads"], D // c["num_attention_heads"]
        s.query, s.key, s.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        s.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(s, x, ext):
        b, t, _ = x.shape
        heads = lambda y: y.view(b, t, s.h, s.d).permute(0, 2, 1, 3)
        q, k, v = heads(s.query(x)), heads(s.key(x)), heads(s.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(s.d) + ext
        p = s.dropout(torch.softmax(scores, dim=-1))
        return torch.matmul(p, v).permute(0, 2, 1, 3).reshape(b, t, s.h * s.d)


class RobSelfOutput(nn.Module):
    def __init__(s, c, din):
        super().__init__()
        s.dense = nn.Linear(din, c["hidden_size"])
        s.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        s.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(s, h, residual):
        return s.LayerNorm(s.dropout(s.dense(h)) + residual)


class RobAttention(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.self = RobSelf(c)
        s.output = RobSelfOutput(c, c["hidden_size"])

    def forward(s, x, ext):
        return s.output(s.self(x, ext), x)


class RobIntermediate(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        s.act = activation(c["hidden_act"])

    def forward(s, x):
        return s.act(s.dense(x))


class RobLayer(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.attention = RobAttention(c)
        s.intermediate = RobIntermediate(c)
        s.output = RobSelfOutput(c, c["intermediate_size"])

    def forward(s, x, ext):
        a = s.attention(x, ext)
        return s.output(s.intermediate(a), a)


class RobEncoder(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.layer = nn.ModuleList([RobLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(s, x, ext):
        for l in s.layer:
            x = l(x, ext)
        return x


class RobModel(nn.Module):  # RobertaModel(add_pooling_layer=False)
    def __init__(s, c):
        super().__init__()
        s.embeddings = RobEmbeddings(c)
        s.encoder = RobEncoder(c)

    def forward(s, ids, types, mask):
        ext = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        return s.encoder(s.embeddings(ids, types), ext)


class RobClassificationHead(nn.Module):
    def __init__(s, c):
        super().__init__()
        D = c["hidden_size"]
        s.dense = nn.Linear(D, D)
        drop = c.get("classifier_dropout")
        s.dropout = nn.Dropout(c["hidden_dropout_prob"] if drop is None else drop)
        s.out_proj = nn.Linear(D, len(c["id2label"]))

    def forward(s, h):
        x = s.dropout(h[:, 0, :])
        x = s.dropout(torch.tanh(s.dense(x)))
        return s.out_proj(x)


class RobForSequenceClassification(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.roberta = RobModel(c)
        s.classifier = RobClassificationHead(c)

    def forward(s, ids, types, mask):
        return s.classifier(s.roberta(ids, types, mask))


# ---------------------------------------------------------------- DistilBERT

class DbEmbeddings(nn.Module):
    def __init__(s, c):
        super().__init__()
        assert not c["sinusoidal_pos_embds"]
        s.word_embeddings = nn.Embedding(c["vocab_size"], c["dim"], padding_idx=c["pad_token_id"])
        s.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["dim"])
        s.LayerNorm = nn.LayerNorm(c["dim"], eps=1e-12)
        s.dropout = nn.Dropout(c["dropout"])

    def forward(s, ids):
        pos = torch.arange(ids.shape[1], dtype=torch.long)[None, :].expand_as(ids)
        return s.dropout(s.LayerNorm(s.word_embeddings(ids) + s.position_embeddings(pos)))


class DbSelfAttention(nn.Module):
    def __init__(s, c):
        super().__init__()
        D = c["dim"]
        s.h, s.d = c["n_heads"], D // c["n_heads"]
        s.q_lin, s.k_lin, s.v_lin, s.out_lin = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        s.dropout = nn.Dropout(c["attention_dropout"])

    def forward(s, x, mask):
        b, t, _ = x.shape
        heads = lambda y: y.view(b, -1, s.h, s.d).transpose(1, 2)
        q = heads(s.q_lin(x)) / math.sqrt(s.d)  # scaled before the product, as DistilBERT does
        k, v = heads(s.k_lin(x)), heads(s.v_lin(x))
        scores = torch.matmul(q, k.transpose(2, 3))
        scores = scores.masked_fill((mask == 0).view(b, 1, 1, t).expand_as(scores), torch.finfo(scores.dtype).min)
        w = s.dropout(F.softmax(scores, dim=-1))
        ctx = torch.matmul(w, v).transpose(1, 2).contiguous().view(b, -1, s.h * s.d)
        return s.out_lin(ctx)  # no dropout here


class DbFFN(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.lin1 = nn.Linear(c["dim"], c["hidden_dim"])
        s.lin2 = nn.Linear(c["hidden_dim"], c["dim"])
        s.act = activation(c["activation"])
        s.dropout = nn.Dropout(c["dropout"])

    def forward(s, x):
        return s.dropout(s.lin2(s.act(s.lin1(x))))


class DbBlock(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.attention = DbSelfAttention(c)
        s.sa_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        s.ffn = DbFFN(c)
        s.output_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(s, x, mask):
        sa = s.sa_layer_norm(s.attention(x, mask) + x)
        return s.output_layer_norm(s.ffn(sa) + sa)


class DbTransformer(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.layer = nn.ModuleList([DbBlock(c) for _ in range(c["n_layers"])])

    def forward(s, x, mask):
        for l in s.layer:
            x = l(x, mask)
        return x


class DbModel(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.embeddings = DbEmbeddings(c)
        s.transformer = DbTransformer(c)

    def forward(s, ids, mask):
        return s.transformer(s.embeddings(ids), mask)


class DbForSequenceClassification(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.distilbert = DbModel(c)
        s.pre_classifier = nn.Linear(c["dim"], c["dim"])
        s.classifier = nn.Linear(c["dim"], len(c["id2label"]))
        s.dropout = nn.Dropout(c["seq_classif_dropout"])

    def forward(s, ids, mask):
        h = s.distilbert(ids, mask)[:, 0]
        return s.classifier(s.dropout(F.relu(s.pre_classifier(h))))


class DbForMaskedLM(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.distilbert = DbModel(c)
        s.vocab_transform = nn.Linear(c["dim"], c["dim"])
        s.act = activation(c["activation"])
        s.vocab_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        s.vocab_projector = nn.Linear(c["dim"], c["vocab_size"])
        s.vocab_projector.weight = s.distilbert.embeddings.word_embeddings.weight  # tied

    def forward(s, ids, mask):
        h = s.distilbert(ids, mask)
        return s.vocab_projector(s.vocab_layer_norm(s.act(s.vocab_transform(h))))


# ---------------------------------------------------------------- cases

def randomize(model, seed):
    """Deterministic values of scale 0.2 (layer-norm gains around 1) for every parameter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # a tied parameter is listed once
            v = torch.randn(p.shape, generator=g) * 0.2
            if ("LayerNorm" in name or "layer_norm" in name) and name.endswith("weight"):
                v += 1
            p.copy_(v)


def inputs(vocab, pad, lengths, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (B, T), generator=g)  # never a special token below 3
    mask = torch.zeros(B, T, dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1
    ids[mask == 0] = pad
    return ids, mask


def write(name, model, cfg, exp, loss, stored):
    loss.backward()
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    params = dict(model.named_parameters())
    save(os.path.join(d, "model.safetensors"), {n: params[n] for n in stored}, {"format": "pt"})
    exp = dict(exp, loss=loss.reshape(1))
    exp.update({"grad." + n: params[n].grad for n in stored})
    save(os.path.join(HERE, name + "_expected.safetensors"), exp)
    print(f"{name}: loss {loss.item():.6f}, {len(stored)} tensors")


def roberta_case(name, cfg, lengths, labels, seed):
    torch.manual_seed(seed)
    model = RobForSequenceClassification(cfg).eval()
    randomize(model, seed)
    ids, mask = inputs(cfg["vocab_size"], cfg["pad_token_id"], lengths, seed + 1)
    types = torch.zeros(B, T, dtype=torch.long)
    logits = model(ids, types, mask)
    labels = torch.tensor(labels)
    loss = F.cross_entropy(logits, labels)
    stored = [n for n, _ in model.named_parameters()]
    write(name, model, cfg, {"input_ids": ids, "token_type_ids": types, "attention_mask": mask,
                             "labels": labels, "logits": logits}, loss, stored)


def distil_case(name, cfg, head, lengths, seed):
    torch.manual_seed(seed)
    model = (DbForSequenceClassification(cfg) if head == "cls" else DbForMaskedLM(cfg)).eval()
    randomize(model, seed)
    ids, mask = inputs(cfg["vocab_size"], cfg["pad_token_id"], lengths, seed + 1)
    logits = model(ids, mask)
    if head == "cls":
        labels = torch.tensor([2, 0, 1])
        loss = F.cross_entropy(logits, labels)
    else:
        labels = torch.full((B, T), -100)
        labels[0, 1], labels[0, 7], labels[1, 0], labels[1, 3], labels[2, 2] = 9, 4, 17, 30, 5
        loss = F.cross_entropy(logits.reshape(-1, cfg["vocab_size"]), labels.reshape(-1), ignore_index=-100)
    stored = [n for n, _ in model.named_parameters()]  # vocab_projector.weight is the word embeddings'
    write(name, model, cfg, {"input_ids": ids, "attention_mask": mask, "labels": labels, "logits": logits}, loss, stored)


rob = dict(hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5,
           initializer_range=0.02, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2)
roberta_case("roberta_cls", dict(rob, model_type="roberta", vocab_size=45, hidden_size=16, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=32, max_position_embeddings=16,
                                 id2label={"0": "neg", "1": "neu", "2": "pos"},
                                 label2id={"neg": 0, "neu": 1, "pos": 2},
                                 architectures=["RobertaForSequenceClassification"]),
             [9, 6, 4], [0, 2, 1], 21)
roberta_case("xlmr_cls", dict(rob, model_type="xlm-roberta", vocab_size=57, hidden_size=24, num_hidden_layers=2,
                              num_attention_heads=3, intermediate_size=40, max_position_embeddings=T + 2,
                              id2label={"0": "LABEL_0", "1": "LABEL_1"}, label2id={"LABEL_0": 0, "LABEL_1": 1},
                              architectures=["XLMRobertaForSequenceClassification"]),
             [5, 9, 7], [1, 0, 1], 22)
distil = dict(vocab_size=43, dim=16, n_layers=2, n_heads=4, hidden_dim=32, dropout=0.0, attention_dropout=0.0,
              qa_dropout=0.0, seq_classif_dropout=0.0, max_position_embeddings=12, sinusoidal_pos_embds=False,
              pad_token_id=0, initializer_range=0.02, model_type="distilbert")
distil_case("distilbert_cls", dict(distil, activation="gelu", id2label={"0": "a", "1": "b", "2": "c"},
                                   label2id={"a": 0, "b": 1, "c": 2},
                                   architectures=["DistilBertForSequenceClassification"]),
            "cls", [9, 5, 7], 23)
distil_case("distilbert_mlm", dict(distil, activation="relu", architectures=["DistilBertForMaskedLM"]),
            "mlm", [9, 6, 4], 24)
