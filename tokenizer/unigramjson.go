package tokenizer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

type unigramModelJSON struct {
	Type         string            `json:"type"`
	UnkID        *int64            `json:"unk_id"`
	Vocab        []json.RawMessage `json:"vocab"`
	ByteFallback bool              `json:"byte_fallback"`
}

// isUnigram reports whether a model is a Unigram: its type says so, or,
// without a type, its vocab is a list.
func isUnigram(model json.RawMessage) bool {
	var m struct {
		Type  string          `json:"type"`
		Vocab json.RawMessage `json:"vocab"`
	}
	if json.Unmarshal(model, &m) != nil {
		return false
	}
	return m.Type == "Unigram" || m.Type == "" && bytes.HasPrefix(bytes.TrimSpace(m.Vocab), []byte("["))
}

func parseUnigram(f *fileJSON, added []AddedToken) (*Unigram, error) {
	var m unigramModelJSON
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if m.Vocab == nil {
		return nil, errors.New("model has no vocab")
	}
	if m.UnkID == nil {
		return nil, errors.New("model: Unigram without unk_id is not supported")
	}
	if *m.UnkID < 0 || *m.UnkID > math.MaxInt32 {
		return nil, fmt.Errorf("model: unk_id %d out of range", *m.UnkID)
	}
	pieces := make([]string, len(m.Vocab))
	scores := make([]float64, len(m.Vocab))
	for i, raw := range m.Vocab {
		var pair []json.RawMessage
		if json.Unmarshal(raw, &pair) != nil || len(pair) != 2 ||
			json.Unmarshal(pair[0], &pieces[i]) != nil || json.Unmarshal(pair[1], &scores[i]) != nil {
			return nil, fmt.Errorf("model: vocab[%d] is not a [piece, score] pair", i)
		}
		if math.IsNaN(scores[i]) || math.IsInf(scores[i], 0) {
			return nil, fmt.Errorf("model: vocab[%d] has score %v", i, scores[i])
		}
	}
	t, err := newUnigram(pieces, scores, int32(*m.UnkID), m.ByteFallback, added)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if t.norm, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	if t.pre, err = parseSPMPreTokenizer(f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	switch typ, err := typeOf("decoder", f.Decoder); {
	case err != nil:
		return nil, err
	case typ == "":
	case typ == "Metaspace":
		if t.dec, err = parseMetaspace(f.Decoder); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
	default:
		return nil, fmt.Errorf("decoder: type %q is not supported with a Unigram model (want Metaspace)", typ)
	}
	t.post, err = parsePost(f.PostProcessor, t.voc)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		dst *[]byte
		src json.RawMessage
	}{{&t.rawJSON.normalizer, f.Normalizer}, {&t.rawJSON.preTokenizer, f.PreTokenizer}, {&t.rawJSON.decoder, f.Decoder}} {
		var b bytes.Buffer
		if isNull(c.src) {
			b.WriteString("null")
		} else if err := json.Compact(&b, c.src); err != nil {
			return nil, err
		}
		*c.dst = b.Bytes()
	}
	t.setAdded()
	return t, nil
}

type replaceJSON struct {
	Pattern struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Content string `json:"content"`
}

// parseNormalizer reads the normalizers of SentencePiece models: Sequence,
// Precompiled, Strip, Replace, Prepend, NFC, NFD, NFKC, NFKD, Lowercase.
func parseNormalizer(raw json.RawMessage) ([]normalizer, error) {
	typ, err := typeOf("normalizer", raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "":
		return nil, nil
	case "Sequence":
		var s struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		var out []normalizer
		for _, n := range s.Normalizers {
			ns, err := parseNormalizer(n)
			if err != nil {
				return nil, err
			}
			out = append(out, ns...)
		}
		return out, nil
	case "Precompiled":
		var p struct {
			Charsmap *string `json:"precompiled_charsmap"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		if p.Charsmap == nil {
			return nil, errors.New("Precompiled has no precompiled_charsmap")
		}
		if *p.Charsmap == "" {
			return nil, nil // an empty charsmap: identity
		}
		b, err := base64.StdEncoding.DecodeString(*p.Charsmap)
		if err != nil {
			return nil, fmt.Errorf("precompiled_charsmap: %w", err)
		}
		pc, err := parsePrecompiled(b)
		if err != nil {
			return nil, err
		}
		return []normalizer{pc}, nil
	case "Strip":
		var s struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []normalizer{strip{s.Left, s.Right}}, nil
	case "Replace":
		var r replaceJSON
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		switch {
		case r.Pattern.String != nil:
			return []normalizer{replace{literal: *r.Pattern.String, content: r.Content}}, nil
		case r.Pattern.Regex != nil:
			re, err := regexp.Compile(*r.Pattern.Regex)
			if err != nil {
				return nil, fmt.Errorf("Replace: %w", err)
			}
			return []normalizer{replace{re: re, content: r.Content}}, nil
		}
		return nil, errors.New("Replace has no String or Regex pattern")
	case "Prepend":
		var p struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		return []normalizer{prepend{p.Prepend}}, nil
	case "NFC":
		return []normalizer{unicodeNorm{norm.NFC}}, nil
	case "NFD":
		return []normalizer{unicodeNorm{norm.NFD}}, nil
	case "NFKC":
		return []normalizer{unicodeNorm{norm.NFKC}}, nil
	case "NFKD":
		return []normalizer{unicodeNorm{norm.NFKD}}, nil
	case "Lowercase":
		return []normalizer{lowercase{}}, nil
	}
	return nil, fmt.Errorf("type %q is not supported with a Unigram model", typ)
}

// parseSPMPreTokenizer reads null, Metaspace, WhitespaceSplit, or a
// Sequence of WhitespaceSplit and Metaspace.
func parseSPMPreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	var p preTokenizer
	typ, err := typeOf("pre_tokenizer", raw)
	if err != nil {
		return p, err
	}
	var list []json.RawMessage
	switch typ {
	case "":
		return p, nil
	case "Sequence":
		var s struct {
			PreTokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return p, err
		}
		list = s.PreTokenizers
	default:
		list = []json.RawMessage{raw}
	}
	for _, r := range list {
		typ, err := typeOf("pre_tokenizer", r)
		if err != nil {
			return p, err
		}
		switch {
		case typ == "WhitespaceSplit" && p.meta == nil && !p.whitespace:
			p.whitespace = true
		case typ == "Metaspace" && p.meta == nil:
			if p.meta, err = parseMetaspace(r); err != nil {
				return p, err
			}
		default:
			return p, fmt.Errorf("%s is not supported with a Unigram model (want Metaspace, optionally after WhitespaceSplit)", orNull(typ))
		}
	}
	return p, nil
}

type metaspaceJSON struct {
	Type           string  `json:"type"`
	Replacement    string  `json:"replacement"`
	PrependScheme  *string `json:"prepend_scheme,omitempty"`
	Split          *bool   `json:"split,omitempty"`
	AddPrefixSpace *bool   `json:"add_prefix_space,omitempty"`
}

// parseMetaspace reads a Metaspace pre-tokenizer or decoder, in the format
// of tokenizers 0.19 and later (prepend_scheme, split) or the older one
// (add_prefix_space).
func parseMetaspace(raw json.RawMessage) (*metaspace, error) {
	var j metaspaceJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, err
	}
	r, size := utf8.DecodeRuneInString(j.Replacement)
	if size == 0 || size != len(j.Replacement) || r == utf8.RuneError {
		return nil, fmt.Errorf("Metaspace: replacement %q is not one character", j.Replacement)
	}
	m := &metaspace{replacement: r, prepend: prependAlways, split: j.Split == nil || *j.Split}
	if j.PrependScheme != nil {
		switch *j.PrependScheme {
		case "always":
		case "first":
			m.prepend = prependFirst
		case "never":
			m.prepend = prependNever
		default:
			return nil, fmt.Errorf("Metaspace: unknown prepend_scheme %q", *j.PrependScheme)
		}
	}
	if j.AddPrefixSpace != nil && !*j.AddPrefixSpace {
		if j.PrependScheme != nil && m.prepend != prependNever {
			return nil, errors.New("Metaspace: add_prefix_space false does not match prepend_scheme")
		}
		m.prepend = prependNever
	}
	return m, nil
}

// MarshalJSON returns t in Hugging Face's tokenizer.json format. The
// normalizer, pre-tokenizer and decoder are written as they were read.
func (t *Unigram) MarshalJSON() ([]byte, error) {
	var w jsonWriter
	w.header(t.voc.addedTokens())
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"normalizer", t.rawJSON.normalizer}, {"pre_tokenizer", t.rawJSON.preTokenizer}} {
		if err := w.field(c.name, json.RawMessage(c.raw)); err != nil {
			return nil, err
		}
	}
	if err := w.field("post_processor", postJSON(t.post, nil)); err != nil {
		return nil, err
	}
	if err := w.field("decoder", json.RawMessage(t.rawJSON.decoder)); err != nil {
		return nil, err
	}
	fmt.Fprintf(&w, "  \"model\": {\n    \"type\": \"Unigram\",\n    \"unk_id\": %d,\n    \"vocab\": [", t.unk)
	for i, p := range t.pieces {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n      [")
		w.str(p)
		w.WriteString(", ")
		w.WriteString(strconv.FormatFloat(t.scores[i], 'g', -1, 64))
		w.WriteByte(']')
	}
	fmt.Fprintf(&w, "\n    ],\n    \"byte_fallback\": %t\n  }\n}\n", t.byteFallback)
	return w.Bytes(), nil
}
