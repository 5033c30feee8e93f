package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The subset of Hugging Face's tokenizer.json that this package reads.
type fileJSON struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
	Model         json.RawMessage  `json:"model"`
}

type addedTokenJSON struct {
	ID         *int64  `json:"id"`
	Content    *string `json:"content"`
	SingleWord bool    `json:"single_word"`
	LStrip     bool    `json:"lstrip"`
	RStrip     bool    `json:"rstrip"`
	Normalized *bool   `json:"normalized"`
	Special    bool    `json:"special"`
}

type modelJSON struct {
	Type                    string            `json:"type"`
	Vocab                   vocabJSON         `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
	Dropout                 *float64          `json:"dropout"`
	UnkToken                *string           `json:"unk_token"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
	FuseUnk                 bool              `json:"fuse_unk"`
	ByteFallback            bool              `json:"byte_fallback"`
	IgnoreMerges            bool              `json:"ignore_merges"`
	MaxInputCharsPerWord    *int64            `json:"max_input_chars_per_word"`
}

// typed is any tokenizer.json component, seen through its "type".
type typed struct {
	Type string `json:"type"`
}

// vocabJSON is a vocab object read in order, rejecting duplicate tokens
// and ids that are not int32s.
type vocabJSON struct {
	m   map[string]int32
	set bool
}

func (v *vocabJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil {
		return err
	} else if t != json.Delim('{') {
		return errors.New("vocab is not an object")
	}
	v.m = make(map[string]int32)
	v.set = true
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := kt.(string)
		vt, err := dec.Token()
		if err != nil {
			return err
		}
		num, ok := vt.(json.Number)
		if !ok {
			return fmt.Errorf("vocab entry %q: id is not a number", key)
		}
		id, err := strconv.ParseInt(string(num), 10, 32)
		if err != nil || id < 0 {
			return fmt.Errorf("vocab entry %q: id %s is not a non-negative 32-bit integer", key, num)
		}
		if _, dup := v.m[key]; dup {
			return fmt.Errorf("vocab lists token %q twice", key)
		}
		v.m[key] = int32(id)
	}
	_, err := dec.Token()
	return err
}

func isNull(m json.RawMessage) bool {
	return len(m) == 0 || string(bytes.TrimSpace(m)) == "null"
}

// typeOf returns the "type" of a component, "" for null.
func typeOf(what string, m json.RawMessage) (string, error) {
	if isNull(m) {
		return "", nil
	}
	var t typed
	if err := json.Unmarshal(m, &t); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if t.Type == "" {
		return "", fmt.Errorf("%s has no type", what)
	}
	return t.Type, nil
}

func parse(data []byte) (Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	if isNull(f.Model) {
		return nil, errors.New("no model")
	}
	if isUnigram(f.Model) {
		added, err := parseAdded(f.AddedTokens)
		if err != nil {
			return nil, err
		}
		return parseUnigram(&f, added)
	}
	var m modelJSON
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if m.Type == "" {
		// Old files leave the type out.
		switch {
		case m.Merges != nil:
			m.Type = "BPE"
		case m.MaxInputCharsPerWord != nil:
			m.Type = "WordPiece"
		default:
			return nil, errors.New("model has no type")
		}
	}
	if !m.Vocab.set {
		return nil, errors.New("model has no vocab")
	}
	added, err := parseAdded(f.AddedTokens)
	if err != nil {
		return nil, err
	}
	switch m.Type {
	case "BPE":
		return parseBPE(&f, &m, added)
	case "WordPiece":
		return parseWordPiece(&f, &m, added)
	}
	return nil, fmt.Errorf("unsupported model type %q (want BPE, WordPiece or Unigram)", m.Type)
}

func parseAdded(list []addedTokenJSON) ([]AddedToken, error) {
	var added []AddedToken
	for i, a := range list {
		if a.ID == nil || a.Content == nil {
			return nil, fmt.Errorf("added_tokens[%d]: id or content missing", i)
		}
		if *a.ID < 0 || *a.ID > math.MaxInt32 {
			return nil, fmt.Errorf("added_tokens[%d]: id %d out of range", i, *a.ID)
		}
		normalized := !a.Special
		if a.Normalized != nil {
			normalized = *a.Normalized
		}
		added = append(added, AddedToken{
			ID:         int32(*a.ID),
			Content:    *a.Content,
			Special:    a.Special,
			SingleWord: a.SingleWord,
			LStrip:     a.LStrip,
			RStrip:     a.RStrip,
			Normalized: normalized,
		})
	}
	return added, nil
}

type byteLevelJSON struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	TrimOffsets    bool   `json:"trim_offsets"`
	UseRegex       *bool  `json:"use_regex"`
}

func parseBPE(f *fileJSON, m *modelJSON, added []AddedToken) (*BPE, error) {
	var opts BPEOptions
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, errors.New("model: BPE dropout is not supported")
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" ||
		m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, errors.New("model: BPE continuing_subword_prefix and end_of_word_suffix are not supported")
	}
	if m.ByteFallback {
		return nil, errors.New("model: BPE byte_fallback is not supported (only byte-level BPE is)")
	}
	if m.UnkToken != nil {
		opts.UnkToken = *m.UnkToken
	}
	opts.FuseUnk = m.FuseUnk
	opts.IgnoreMerges = m.IgnoreMerges

	if typ, err := typeOf("normalizer", f.Normalizer); err != nil {
		return nil, err
	} else if typ != "" {
		return nil, fmt.Errorf("normalizer: type %q is not supported with a BPE model (want null)", typ)
	}
	typ, err := typeOf("pre_tokenizer", f.PreTokenizer)
	if err != nil {
		return nil, err
	}
	if typ != "ByteLevel" {
		return nil, fmt.Errorf("pre_tokenizer: %s is not supported with a BPE model (want ByteLevel)", orNull(typ))
	}
	var pre byteLevelJSON
	if err := json.Unmarshal(f.PreTokenizer, &pre); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	opts.AddPrefixSpace = pre.AddPrefixSpace
	opts.NoRegex = pre.UseRegex != nil && !*pre.UseRegex
	if typ, err := typeOf("decoder", f.Decoder); err != nil {
		return nil, err
	} else if typ != "" && typ != "ByteLevel" {
		return nil, fmt.Errorf("decoder: type %q is not supported with a BPE model (want ByteLevel)", typ)
	}

	merges := make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		var s string
		var pair []string
		switch {
		case json.Unmarshal(raw, &s) == nil:
			parts := strings.Split(s, " ")
			if len(parts) != 2 {
				return nil, fmt.Errorf("model: merges[%d] %q is not two tokens separated by a space", i, s)
			}
			merges[i] = [2]string{parts[0], parts[1]}
		case json.Unmarshal(raw, &pair) == nil:
			if len(pair) != 2 {
				return nil, fmt.Errorf("model: merges[%d] has %d tokens, want 2", i, len(pair))
			}
			merges[i] = [2]string{pair[0], pair[1]}
		default:
			return nil, fmt.Errorf("model: merges[%d] is neither a string nor a pair of strings", i)
		}
	}
	t, err := NewBPE(m.Vocab.m, merges, added, opts)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	t.post, err = parsePost(f.PostProcessor, t.voc)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func orNull(typ string) string {
	if typ == "" {
		return "null"
	}
	return strconv.Quote(typ)
}

type bertNormalizerJSON struct {
	CleanText          *bool `json:"clean_text"`
	HandleChineseChars *bool `json:"handle_chinese_chars"`
	StripAccents       *bool `json:"strip_accents"`
	Lowercase          *bool `json:"lowercase"`
}

type wordPieceDecoderJSON struct {
	Prefix  *string `json:"prefix"`
	Cleanup *bool   `json:"cleanup"`
}

func parseWordPiece(f *fileJSON, m *modelJSON, added []AddedToken) (*WordPiece, error) {
	var opts WordPieceOptions
	if m.UnkToken != nil {
		opts.UnkToken = *m.UnkToken
	}
	if m.ContinuingSubwordPrefix != nil {
		if *m.ContinuingSubwordPrefix == "" {
			return nil, errors.New("model: empty continuing_subword_prefix")
		}
		opts.Prefix = *m.ContinuingSubwordPrefix
	}
	if m.MaxInputCharsPerWord != nil {
		if n := *m.MaxInputCharsPerWord; n <= 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("model: max_input_chars_per_word %d out of range", n)
		}
		opts.MaxInputCharsPerWord = int(*m.MaxInputCharsPerWord)
	}
	typ, err := typeOf("normalizer", f.Normalizer)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "":
	case "BertNormalizer":
		var n bertNormalizerJSON
		if err := json.Unmarshal(f.Normalizer, &n); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
		deref := func(p *bool, def bool) bool {
			if p == nil {
				return def
			}
			return *p
		}
		opts.Normalizer.CleanText = deref(n.CleanText, true)
		opts.Normalizer.ChineseChars = deref(n.HandleChineseChars, true)
		opts.Normalizer.Lowercase = deref(n.Lowercase, true)
		opts.Normalizer.StripAccents = deref(n.StripAccents, opts.Normalizer.Lowercase)
	default:
		return nil, fmt.Errorf("normalizer: type %q is not supported with a WordPiece model (want BertNormalizer)", typ)
	}
	if typ, err := typeOf("pre_tokenizer", f.PreTokenizer); err != nil {
		return nil, err
	} else if typ != "BertPreTokenizer" {
		return nil, fmt.Errorf("pre_tokenizer: %s is not supported with a WordPiece model (want BertPreTokenizer)", orNull(typ))
	}
	t, err := newWordPiece(m.Vocab.m, added, opts)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if typ == "" {
		t.norm = nil
		t.setAdded()
	}
	switch typ, err := typeOf("decoder", f.Decoder); {
	case err != nil:
		return nil, err
	case typ == "":
		t.decPrefix, t.cleanup = "", false
	case typ == "WordPiece":
		var d wordPieceDecoderJSON
		if err := json.Unmarshal(f.Decoder, &d); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
		t.decPrefix = "##"
		if d.Prefix != nil {
			t.decPrefix = *d.Prefix
		}
		t.cleanup = d.Cleanup == nil || *d.Cleanup
	default:
		return nil, fmt.Errorf("decoder: type %q is not supported with a WordPiece model (want WordPiece)", typ)
	}
	t.post, err = parsePost(f.PostProcessor, t.voc)
	if err != nil {
		return nil, err
	}
	return t, nil
}

type specialJSON struct {
	ID     string   `json:"id"`
	IDs    []int64  `json:"ids"`
	Tokens []string `json:"tokens"`
}

type templateJSON struct {
	Single        []map[string]pieceJSON `json:"single"`
	Pair          []map[string]pieceJSON `json:"pair"`
	SpecialTokens map[string]specialJSON `json:"special_tokens"`
}

type pieceJSON struct {
	ID     string `json:"id"`
	TypeID int64  `json:"type_id"`
}

type clsSepJSON struct {
	Sep []json.RawMessage `json:"sep"`
	Cls []json.RawMessage `json:"cls"`
}

type sequenceJSON struct {
	Processors []json.RawMessage `json:"processors"`
}

// parsePost reads a post_processor: null, ByteLevel, TemplateProcessing,
// BertProcessing, RobertaProcessing, or a Sequence of these with at most
// one that adds tokens.
func parsePost(raw json.RawMessage, v *vocabulary) (*template, error) {
	typ, err := typeOf("post_processor", raw)
	if err != nil {
		return nil, err
	}
	var t *template
	switch typ {
	case "", "ByteLevel":
		return nil, nil
	case "Sequence":
		var s sequenceJSON
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("post_processor: %w", err)
		}
		for _, p := range s.Processors {
			pt, err := parsePost(p, v)
			if err != nil {
				return nil, err
			}
			if pt != nil {
				if t != nil {
					return nil, errors.New("post_processor: more than one processor in the Sequence adds tokens")
				}
				t = pt
			}
		}
		return t, nil
	case "TemplateProcessing":
		t, err = parseTemplate(raw)
	case "BertProcessing", "RobertaProcessing":
		var cs clsSepJSON
		if err := json.Unmarshal(raw, &cs); err != nil {
			return nil, fmt.Errorf("post_processor: %w", err)
		}
		cls, clsID, err1 := tokenAndID(cs.Cls)
		sep, sepID, err2 := tokenAndID(cs.Sep)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("post_processor: %s: %w", typ, err)
		}
		if typ == "BertProcessing" {
			t = bertTemplate(cls, clsID, sep, sepID)
		} else {
			t = robertaTemplate(cls, clsID, sep, sepID)
		}
	default:
		return nil, fmt.Errorf("post_processor: type %q is not supported", typ)
	}
	if err != nil {
		return nil, err
	}
	if err := t.check(v); err != nil {
		return nil, err
	}
	return t, nil
}

// tokenAndID reads a ["[CLS]", 101] pair.
func tokenAndID(raw []json.RawMessage) (string, int32, error) {
	var tok string
	var id int64
	if len(raw) != 2 || json.Unmarshal(raw[0], &tok) != nil || json.Unmarshal(raw[1], &id) != nil || id < 0 || id > math.MaxInt32 {
		return "", 0, errors.New("cls and sep must be [token, id] pairs")
	}
	return tok, int32(id), nil
}

func parseTemplate(raw json.RawMessage) (*template, error) {
	var tj templateJSON
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("post_processor: %w", err)
	}
	t := &template{special: make(map[string][]int32)}
	for name, s := range tj.SpecialTokens {
		if len(s.IDs) == 0 {
			return nil, fmt.Errorf("post_processor: special token %q has no ids", name)
		}
		ids := make([]int32, len(s.IDs))
		for i, id := range s.IDs {
			if id < 0 || id > math.MaxInt32 {
				return nil, fmt.Errorf("post_processor: special token %q: id %d out of range", name, id)
			}
			ids[i] = int32(id)
		}
		t.special[name] = ids
	}
	pieces := func(what string, list []map[string]pieceJSON, pair bool) ([]templatePiece, error) {
		var out []templatePiece
		for i, m := range list {
			if len(m) != 1 {
				return nil, fmt.Errorf("post_processor: %s[%d] must have one key, Sequence or SpecialToken", what, i)
			}
			for kind, p := range m {
				if p.TypeID < 0 || p.TypeID > math.MaxInt32 {
					return nil, fmt.Errorf("post_processor: %s[%d]: type_id %d out of range", what, i, p.TypeID)
				}
				tp := templatePiece{TypeID: int32(p.TypeID), Name: p.ID}
				switch kind {
				case "Sequence":
					switch {
					case p.ID == "A":
						tp.Seq = 0
					case p.ID == "B" && pair:
						tp.Seq = 1
					default:
						return nil, fmt.Errorf("post_processor: %s[%d]: unknown sequence %q", what, i, p.ID)
					}
				case "SpecialToken":
					ids, ok := t.special[p.ID]
					if !ok {
						return nil, fmt.Errorf("post_processor: %s[%d]: special token %q is not in special_tokens", what, i, p.ID)
					}
					tp.Seq, tp.IDs = -1, ids
				default:
					return nil, fmt.Errorf("post_processor: %s[%d]: unknown piece %q", what, i, kind)
				}
				out = append(out, tp)
			}
		}
		return out, nil
	}
	var err error
	if t.single, err = pieces("single", tj.Single, false); err != nil {
		return nil, err
	}
	if t.pair, err = pieces("pair", tj.Pair, true); err != nil {
		return nil, err
	}
	return t, nil
}

// Writing.

// jsonWriter writes pretty-printed JSON in the layout Hugging Face uses.
type jsonWriter struct {
	bytes.Buffer
}

// str writes s as a JSON string, escaping only what JSON requires.
func (w *jsonWriter) str(s string) {
	w.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				w.WriteString(`\ufffd`)
			} else {
				w.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		switch c {
		case '"':
			w.WriteString(`\"`)
		case '\\':
			w.WriteString(`\\`)
		case '\n':
			w.WriteString(`\n`)
		case '\r':
			w.WriteString(`\r`)
		case '\t':
			w.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(w, `\u%04x`, c)
			} else {
				w.WriteByte(c)
			}
		}
		i++
	}
	w.WriteByte('"')
}

// value writes v with encoding/json, indented to sit at the given depth.
func (w *jsonWriter) value(v any, depth int) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(strings.Repeat("  ", depth), "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Write(bytes.TrimRight(b.Bytes(), "\n"))
	return nil
}

func (w *jsonWriter) header(added []AddedToken) {
	w.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range added {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, "\n    {\n      \"id\": %d,\n      \"content\": ", a.ID)
		w.str(a.Content)
		fmt.Fprintf(w, ",\n      \"single_word\": %t,\n      \"lstrip\": %t,\n      \"rstrip\": %t,\n      \"normalized\": %t,\n      \"special\": %t\n    }",
			a.SingleWord, a.LStrip, a.RStrip, a.Normalized, a.Special)
	}
	if len(added) > 0 {
		w.WriteString("\n  ")
	}
	w.WriteString("],\n")
}

// field writes `  "name": v,` at depth 1.
func (w *jsonWriter) field(name string, v any) error {
	fmt.Fprintf(w, "  %q: ", name)
	if err := w.value(v, 1); err != nil {
		return err
	}
	w.WriteString(",\n")
	return nil
}

// vocab writes the vocabulary ordered by id.
func (w *jsonWriter) vocab(v map[string]int32) {
	type entry struct {
		tok string
		id  int32
	}
	entries := make([]entry, 0, len(v))
	for tok, id := range v {
		entries = append(entries, entry{tok, id})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].id < entries[j].id })
	w.WriteString(`    "vocab": {`)
	for i, e := range entries {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n      ")
		w.str(e.tok)
		fmt.Fprintf(w, ": %d", e.id)
	}
	if len(entries) > 0 {
		w.WriteString("\n    ")
	}
	w.WriteByte('}')
}

// postJSON returns the post_processor to write for t: a TemplateProcessing,
// or fallback if t is nil.
func postJSON(t *template, fallback any) any {
	if t == nil {
		return fallback
	}
	type piece map[string]pieceJSON
	conv := func(ps []templatePiece) []piece {
		out := []piece{}
		for _, p := range ps {
			switch p.Seq {
			case 0:
				out = append(out, piece{"Sequence": {ID: "A", TypeID: int64(p.TypeID)}})
			case 1:
				out = append(out, piece{"Sequence": {ID: "B", TypeID: int64(p.TypeID)}})
			default:
				out = append(out, piece{"SpecialToken": {ID: p.Name, TypeID: int64(p.TypeID)}})
			}
		}
		return out
	}
	specials := make(map[string]specialJSON)
	for _, ps := range [][]templatePiece{t.single, t.pair} {
		for _, p := range ps {
			if p.Seq >= 0 {
				continue
			}
			s := specialJSON{ID: p.Name, IDs: []int64{}, Tokens: []string{}}
			for _, id := range p.IDs {
				s.IDs = append(s.IDs, int64(id))
				s.Tokens = append(s.Tokens, p.Name)
			}
			specials[p.Name] = s
		}
	}
	return struct {
		Type          string                 `json:"type"`
		Single        []piece                `json:"single"`
		Pair          []piece                `json:"pair"`
		SpecialTokens map[string]specialJSON `json:"special_tokens"`
	}{"TemplateProcessing", conv(t.single), conv(t.pair), specials}
}

// MarshalJSON returns t in Hugging Face's tokenizer.json format. Merges
// are written as "a b" strings, which every version of Hugging Face's
// tokenizers reads, unless a token holds a space; then as pairs.
func (t *BPE) MarshalJSON() ([]byte, error) {
	var w jsonWriter
	w.header(t.voc.addedTokens())
	w.WriteString("  \"normalizer\": null,\n")
	useRegex := !t.opts.NoRegex
	if err := w.field("pre_tokenizer", byteLevelJSON{"ByteLevel", t.opts.AddPrefixSpace, true, &useRegex}); err != nil {
		return nil, err
	}
	if err := w.field("post_processor", postJSON(t.post, byteLevelJSON{"ByteLevel", true, false, &useRegex})); err != nil {
		return nil, err
	}
	if err := w.field("decoder", byteLevelJSON{"ByteLevel", true, true, &useRegex}); err != nil {
		return nil, err
	}
	w.WriteString("  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": ")
	if t.opts.UnkToken == "" {
		w.WriteString("null")
	} else {
		w.str(t.opts.UnkToken)
	}
	fmt.Fprintf(&w, ",\n    \"continuing_subword_prefix\": \"\",\n    \"end_of_word_suffix\": \"\",\n    \"fuse_unk\": %t,\n    \"byte_fallback\": false,\n    \"ignore_merges\": %t,\n",
		t.opts.FuseUnk, t.opts.IgnoreMerges)
	w.vocab(t.voc.ids)
	merges := t.Merges()
	pairs := false
	for _, m := range merges {
		if strings.Contains(m[0], " ") || strings.Contains(m[1], " ") {
			pairs = true
			break
		}
	}
	w.WriteString(",\n    \"merges\": [")
	for i, m := range merges {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n      ")
		if pairs {
			w.WriteByte('[')
			w.str(m[0])
			w.WriteString(", ")
			w.str(m[1])
			w.WriteByte(']')
		} else {
			w.str(m[0] + " " + m[1])
		}
	}
	if len(merges) > 0 {
		w.WriteString("\n    ")
	}
	w.WriteString("]\n  }\n}\n")
	return w.Bytes(), nil
}

// MarshalJSON returns t in Hugging Face's tokenizer.json format.
func (t *WordPiece) MarshalJSON() ([]byte, error) {
	var w jsonWriter
	w.header(t.voc.addedTokens())
	var normalizer any
	if t.norm != nil {
		normalizer = struct {
			Type               string `json:"type"`
			CleanText          bool   `json:"clean_text"`
			HandleChineseChars bool   `json:"handle_chinese_chars"`
			StripAccents       bool   `json:"strip_accents"`
			Lowercase          bool   `json:"lowercase"`
		}{"BertNormalizer", t.norm.CleanText, t.norm.ChineseChars, t.norm.StripAccents, t.norm.Lowercase}
	}
	if err := w.field("normalizer", normalizer); err != nil {
		return nil, err
	}
	w.WriteString("  \"pre_tokenizer\": {\n    \"type\": \"BertPreTokenizer\"\n  },\n")
	if err := w.field("post_processor", postJSON(t.post, nil)); err != nil {
		return nil, err
	}
	var decoder any
	if t.decPrefix != "" || t.cleanup {
		decoder = struct {
			Type    string `json:"type"`
			Prefix  string `json:"prefix"`
			Cleanup bool   `json:"cleanup"`
		}{"WordPiece", t.decPrefix, t.cleanup}
	}
	if err := w.field("decoder", decoder); err != nil {
		return nil, err
	}
	w.WriteString("  \"model\": {\n    \"type\": \"WordPiece\",\n    \"unk_token\": ")
	w.str(t.unkToken)
	w.WriteString(",\n    \"continuing_subword_prefix\": ")
	w.str(t.prefix)
	fmt.Fprintf(&w, ",\n    \"max_input_chars_per_word\": %d,\n", t.maxChars)
	w.vocab(t.voc.ids)
	w.WriteString("\n  }\n}\n")
	return w.Bytes(), nil
}
