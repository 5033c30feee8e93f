#!/usr/bin/python3
"""Regenerates the SentencePiece Unigram reference that tokenizer's tests use.

Run with Debian's python3 and python3-sentencepiece (0.1.97 made the committed
files):

    apt-get install -y python3-sentencepiece python3-protobuf
    /usr/bin/python3 tokenizer/testdata/gen_unigram.py

It
  1. builds a small multilingual corpus from text the system has (translated
     man pages in Latin, Cyrillic, CJK and Hangul scripts, the licenses in
     /usr/share/common-licenses, and month and day names of the glibc locales
     for Greek, Arabic, Hebrew, Devanagari, Thai, ...), and trains a
     SentencePiece Unigram model on it with the default normalization
     (nmt_nfkc);
  2. writes the equivalent Hugging Face tokenizer.json laid out as
     transformers' XLMRobertaConverter writes XLM-R's: model Unigram,
     normalizer Sequence[Precompiled, Strip, Replace], pre_tokenizer and
     decoder Metaspace, post_processor TemplateProcessing with <s> and </s>;
  3. encodes test strings with SentencePiece and writes the ids.

The tokenizer.json uses XLM-R's ids, the fairseq offset: SentencePiece's
pieces are <unk>=0, <s>=1, </s>=2, then the rest; XLM-R's vocabulary is
<s>=0, <pad>=1, </s>=2, <unk>=3, then SentencePiece's piece i (i >= 3) at id
i+1, and <mask> last. So the reference "ids" are SentencePiece's ids i
mapped to i+1 for i >= 3 and <unk> (0) mapped to 3; "spm_ids" are
SentencePiece's own.

SentencePiece's nmt_nfkc charsmap has 224,725 rules in 238 KB. To keep the
test data small, the tokenizer.json holds only the rules whose keys are made
of characters that occur in the test strings, compiled by SentencePiece's own
builder (normalization_rule_tsv). No other rule can match inside a test
string, so on them it normalizes exactly as nmt_nfkc; the script checks this
by encoding every test string with the model's normalizer swapped for the
reduced one. The references come from the model with the full charsmap.

A second, small model is trained with byte_fallback and the identity
normalization (no charsmap), and written the way transformers' SpmConverter
writes a plain Unigram model (no offset, no post-processor).
"""

import base64
import glob
import gzip
import json
import os
import random
import re
import struct
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))


def man_text(path):
    """The text of a troff man page, roughly: requests and escapes dropped."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(".") or line.startswith("'"):
                # keep the text of .SH/.B/.I lines
                m = re.match(r"^\.(?:SH|SS|B|I|BR|IR|BI|IB|RB|RI)\s+(.*)$", line)
                if not m:
                    continue
                line = m.group(1)
            line = re.sub(r"\\f[BIRP]|\\f\(..|\\\||\\&|\\\^", "", line)
            line = re.sub(r"\\\(..|\\\*\(..|\\\*.|\\\[[^]]*\]", "", line)
            line = line.replace("\\-", "-").replace("\\e", "\\").replace('"', "")
            line = line.strip()
            if line:
                out.append(line)
    return out


def locale_names(path):
    """Month and day names of a glibc locale file, decoded from <Uxxxx>."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for m in re.finditer(r'^(?:mon|day|abday|abmon|alt_mon)\s+((?:"[^"]*";?/?\s*)+)', text, re.M):
        names = re.findall(r'"([^"]*)"', m.group(1))
        dec = [re.sub(r"<U([0-9A-Fa-f]{4,6})>", lambda u: chr(int(u.group(1), 16)), n) for n in names]
        out.append(" ".join(dec))
    return out


def corpus():
    lines = []
    for lang in ["de", "fr", "ru", "uk", "ja", "ko", "zh_CN", "zh_TW", "pl", "tr", "sv", "es"]:
        for path in sorted(glob.glob(f"/usr/share/man/{lang}/man*/*.gz"))[:40]:
            lines += man_text(path)
    for path in sorted(glob.glob("/usr/share/man/man1/*.gz"))[:60]:
        lines += man_text(path)
    for name in ["Apache-2.0", "GPL-3", "MPL-2.0", "Artistic"]:
        p = os.path.join("/usr/share/common-licenses", name)
        if os.path.exists(p):
            with open(p, encoding="utf-8", errors="replace") as f:
                lines += [l.strip() for l in f if l.strip()]
    for loc in ["el_GR", "ar_EG", "he_IL", "hi_IN", "th_TH", "ka_GE", "hy_AM", "am_ET", "bn_IN", "ta_IN", "fa_IR", "vi_VN"]:
        p = os.path.join("/usr/share/i18n/locales", loc)
        if os.path.exists(p):
            # repeat so that these scripts get pieces of their own
            lines += locale_names(p) * 20
    return lines


TESTS = [
    "",
    " ",
    "   ",
    "Hello world",
    "Hello world!",
    " Hello  world ",
    "  leading and trailing  ",
    "tabs\tand\nnewlines\r\nhere",
    "multiple     spaces   inside",
    "Das ist eine Übersetzung der Handbuchseite.",
    "Ceci est une traduction française.",
    "Это перевод справочной страницы.",
    "Це переклад сторінки довідки.",
    "これはマニュアルページの翻訳です。",
    "이것은 매뉴얼 페이지입니다.",
    "这是手册页的中文翻译。",
    "這是手冊頁的翻譯。",
    "Ιανουάριος Φεβρουάριος Μάρτιος",
    "يناير فبراير مارس",
    "ינואר פברואר מרץ",
    "जनवरी फ़रवरी मार्च",
    "มกราคม กุมภาพันธ์",
    "mixed: English, Русский, 日本語, 한국어, Ελληνικά, עברית, हिन्दी",
    # what NFKC changes
    "ＡＢＣ　ｄｅｆ　１２３",
    "ﬁnance ﬂow ﬀ",
    "① ② ③ Ⅻ ½ x² H₂O",
    "ｶﾀｶﾅ ﾊﾝｶｸ",
    "e\u0301cole cafe\u0301 n\u0303",
    "™ ℃ № ㈱ ㎏",
    "\u00a0non\u00a0breaking\u2003em\u3000ideographic",
    "zero\u200bwidth\u200d joiners\ufeff",
    "ﾟ ﾞ ｰ",
    # unknown characters, alone and in runs
    "snowman ☃ and comet ☄",
    "emoji 😀😃😄 in a row",
    "𐀀𐀁 Linear B",
    "ancient ᚠᚢᚦ runes",
    "a☃b☄c",
    "☃",
    "x \x01 control \x7f chars",
    "dollars $100 and 50% off; e-mail: user@example.com",
    "path/to/file.txt --help -v",
    "UPPER lower MiXeD",
    "1234567890 3.14159",
]


def charsmap_rules(cm):
    """All rules of a precompiled charsmap: the keys of its double-array
    trie (Darts-clone units) with the NUL-terminated strings they point to."""
    (size,) = struct.unpack_from("<I", cm, 0)
    arr = struct.unpack_from("<%dI" % (size // 4), cm, 4)
    blob = cm[4 + size:]

    def offset(u):
        return (u >> 10) << ((u & (1 << 9)) >> 6)

    rules = {}

    def walk(pos, key):
        for c in range(1, 256):
            child = pos ^ c
            if child >= len(arr) or arr[child] & ((1 << 31) | 0xFF) != c:
                continue
            nxt = child ^ offset(arr[child])
            if (arr[child] >> 8) & 1:
                v = arr[nxt] & ((1 << 31) - 1)
                rules[bytes(key + [c])] = blob[v:blob.index(0, v)]
            walk(nxt, key + [c])

    walk(offset(arr[0]), [])
    return rules


def reduced_charsmap(cm, texts, tmp, inp):
    """A charsmap with the rules of cm whose keys use only characters of
    texts, compiled by SentencePiece's own builder (normalization_rule_tsv).
    On texts it normalizes exactly as cm does: any rule that matches inside
    one of them has a key made of its characters."""
    chars = set("".join(texts))
    rules = charsmap_rules(cm)
    tsv = os.path.join(tmp, "rules.tsv")
    n = 0
    with open(tsv, "w", encoding="utf-8") as f:
        for k, v in sorted(rules.items()):
            k = k.decode("utf-8")
            if set(k) <= chars:
                f.write(" ".join("%X" % ord(c) for c in k) + "\t" +
                        " ".join("%X" % ord(c) for c in v.decode("utf-8")) + "\n")
                n += 1
    prefix = os.path.join(tmp, "rules")
    small = os.path.join(tmp, "small.txt")
    with open(inp, encoding="utf-8") as src, open(small, "w", encoding="utf-8") as dst:
        dst.writelines([l for l in src if l.isascii()][:2000])
    spm.SentencePieceTrainer.train(
        input=small, model_prefix=prefix, model_type="unigram", vocab_size=200, hard_vocab_limit=False,
        normalization_rule_tsv=tsv, num_threads=1, minloglevel=2)
    p = pb.ModelProto()
    with open(prefix + ".model", "rb") as f:
        p.ParseFromString(f.read())
    return p.normalizer_spec.precompiled_charsmap, len(rules), n


def xlmr_id(i, unk):
    if i == unk:
        return 3
    return i + 1


def write_tokenizer(path, tok):
    """Writes a tokenizer.json indented as Hugging Face does, but with one
    vocab entry a line."""
    vocab = tok["model"]["vocab"]
    tok["model"]["vocab"] = "VOCAB"
    text = json.dumps(tok, ensure_ascii=False, indent=2)
    tok["model"]["vocab"] = vocab
    entries = ",\n".join("      " + json.dumps(v, ensure_ascii=False) for v in vocab)
    text = text.replace('"VOCAB"', "[\n" + entries + "\n    ]")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def write_ref(path, head, cases):
    """Writes head with "cases", one case a line."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]}\n")


def added(i, content, lstrip=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
            "normalized": False, "special": True}


def normalizer(cm):
    seq = [{"type": "Strip", "strip_left": False, "strip_right": True},
           {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]
    if cm:
        seq.insert(0, {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(cm).decode()})
    return {"type": "Sequence", "normalizers": seq}


def metaspace():
    return {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}


def main():
    rnd = random.Random(20)
    lines = corpus()
    tmp = tempfile.mkdtemp()
    inp = os.path.join(tmp, "corpus.txt")
    with open(inp, "w", encoding="utf-8") as f:
        for l in lines:
            f.write(l + "\n")

    # 1. The XLM-R-style model.
    prefix = os.path.join(tmp, "xlmr")
    spm.SentencePieceTrainer.train(
        input=inp, model_prefix=prefix, model_type="unigram", vocab_size=2000,
        character_coverage=0.995, num_threads=1, shuffle_input_sentence=False,
        minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    proto = pb.ModelProto()
    with open(prefix + ".model", "rb") as f:
        proto.ParseFromString(f.read())
    unk = sp.unk_id()
    assert [p.piece for p in proto.pieces[:3]] == ["<unk>", "<s>", "</s>"], proto.pieces[:3]
    assert proto.normalizer_spec.name == "nmt_nfkc"

    # Test strings: the fixed ones and lines of the corpus.
    texts = TESTS + rnd.sample(lines, 120)
    cases = []
    for s in texts:
        ids = sp.encode(s)
        cases.append({"text": s, "ids": [xlmr_id(i, unk) for i in ids], "spm_ids": ids})

    # The full nmt_nfkc charsmap is 238 KB; the tokenizer.json gets the part
    # of it that the test strings can use, checked here to give the same ids.
    cm, nrules, nkept = reduced_charsmap(proto.normalizer_spec.precompiled_charsmap, texts, tmp, inp)
    small = pb.ModelProto()
    small.CopyFrom(proto)
    small.normalizer_spec.precompiled_charsmap = cm
    sp_small = spm.SentencePieceProcessor(model_proto=small.SerializeToString())
    for c in cases:
        assert sp_small.encode(c["text"]) == c["spm_ids"], c
    print(f"charsmap: {nkept} of {nrules} rules, {len(cm)} of {len(proto.normalizer_spec.precompiled_charsmap)} bytes")

    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p.piece, p.score] for p in proto.pieces[3:]]
    vocab += [["<mask>", 0.0]]
    mask = len(vocab) - 1
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                         added(mask, "<mask>", lstrip=True)],
        "normalizer": normalizer(cm),
        "pre_tokenizer": metaspace(),
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
            },
        },
        "decoder": metaspace(),
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }
    write_tokenizer(os.path.join(HERE, "unigram_xlmr.json"), tok)
    write_ref(os.path.join(HERE, "unigram_xlmr_ref.json"), {
        "sentencepiece": spm.__version__,
        "id_mapping": "ids = spm_ids with <unk> (0) -> 3 and i -> i+1 for i >= 3 (XLM-R's fairseq offset)",
    }, cases)

    # 2. A byte-fallback model without a charsmap, ids as SentencePiece's.
    prefix2 = os.path.join(tmp, "bytes")
    spm.SentencePieceTrainer.train(
        input=inp, model_prefix=prefix2, model_type="unigram", vocab_size=1000,
        character_coverage=0.98, byte_fallback=True, normalization_rule_name="identity",
        num_threads=1, shuffle_input_sentence=False, minloglevel=2)
    sp2 = spm.SentencePieceProcessor(model_file=prefix2 + ".model")
    proto2 = pb.ModelProto()
    with open(prefix2 + ".model", "rb") as f:
        proto2.ParseFromString(f.read())
    assert not proto2.normalizer_spec.precompiled_charsmap
    specials = [added(i, p.piece) for i, p in enumerate(proto2.pieces) if p.type in (2, 3)]
    tok2 = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": specials,
        "normalizer": normalizer(proto2.normalizer_spec.precompiled_charsmap),
        "pre_tokenizer": metaspace(),
        "post_processor": None,
        "decoder": metaspace(),
        "model": {"type": "Unigram", "unk_id": sp2.unk_id(),
                  "vocab": [[p.piece, p.score] for p in proto2.pieces], "byte_fallback": True},
    }
    write_tokenizer(os.path.join(HERE, "unigram_bytes.json"), tok2)
    cases = []
    for s in TESTS + rnd.sample(lines, 50):
        cases.append({"text": s, "ids": sp2.encode(s)})
    write_ref(os.path.join(HERE, "unigram_bytes_ref.json"), {"sentencepiece": spm.__version__}, cases)


if __name__ == "__main__":
    main()
