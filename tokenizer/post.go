package tokenizer

import "fmt"

// An Encoding is a model input: token ids with the special tokens of the
// tokenizer's template added, and the segment (token type) of each.
type Encoding struct {
	IDs     []int32
	TypeIDs []int32
}

// A template says where special tokens go around one sequence ($A) or a
// pair ($A, $B), as Hugging Face's TemplateProcessing does. The zero
// template adds nothing.
type template struct {
	single, pair []templatePiece
	// names of the special tokens, for writing the template back
	special map[string][]int32
}

// A templatePiece is either sequence 0 or 1 (Seq >= 0) or the ids of the
// special token Name.
type templatePiece struct {
	Seq    int // 0 for $A, 1 for $B, -1 for a special token
	Name   string
	IDs    []int32
	TypeID int32
}

// bertTemplate returns [CLS] $A [SEP] and [CLS] $A [SEP] $B:1 [SEP]:1.
func bertTemplate(cls string, clsID int32, sep string, sepID int32) *template {
	c := templatePiece{Seq: -1, Name: cls, IDs: []int32{clsID}}
	s := templatePiece{Seq: -1, Name: sep, IDs: []int32{sepID}}
	s1 := s
	s1.TypeID = 1
	return &template{
		single:  []templatePiece{c, {Seq: 0}, s},
		pair:    []templatePiece{c, {Seq: 0}, s, {Seq: 1, TypeID: 1}, s1},
		special: map[string][]int32{cls: {clsID}, sep: {sepID}},
	}
}

// robertaTemplate returns <s> $A </s> and <s> $A </s> </s> $B </s>, all of
// type 0, as Hugging Face's RobertaProcessing does.
func robertaTemplate(cls string, clsID int32, sep string, sepID int32) *template {
	c := templatePiece{Seq: -1, Name: cls, IDs: []int32{clsID}}
	s := templatePiece{Seq: -1, Name: sep, IDs: []int32{sepID}}
	return &template{
		single:  []templatePiece{c, {Seq: 0}, s},
		pair:    []templatePiece{c, {Seq: 0}, s, s, {Seq: 1}, s},
		special: map[string][]int32{cls: {clsID}, sep: {sepID}},
	}
}

// apply lays out a (and b, if pair) by the template.
func (t *template) apply(a, b []int32, pair bool) Encoding {
	var pieces []templatePiece
	if t != nil {
		pieces = t.single
		if pair {
			pieces = t.pair
		}
	}
	if pieces == nil {
		// No template: the sequences as they are, $A of type 0, $B of type 1.
		pieces = []templatePiece{{Seq: 0}}
		if pair {
			pieces = append(pieces, templatePiece{Seq: 1, TypeID: 1})
		}
	}
	var e Encoding
	for _, p := range pieces {
		ids := p.IDs
		switch p.Seq {
		case 0:
			ids = a
		case 1:
			ids = b
		}
		e.IDs = append(e.IDs, ids...)
		for range ids {
			e.TypeIDs = append(e.TypeIDs, p.TypeID)
		}
	}
	if e.IDs == nil {
		e.IDs, e.TypeIDs = []int32{}, []int32{}
	}
	return e
}

// check verifies that the template's special tokens are in v.
func (t *template) check(v *vocabulary) error {
	if t == nil {
		return nil
	}
	for _, pieces := range [][]templatePiece{t.single, t.pair} {
		for _, p := range pieces {
			for _, id := range p.IDs {
				if _, ok := v.token(id); !ok {
					return fmt.Errorf("post_processor: special token %q has id %d, which is not in the vocabulary", p.Name, id)
				}
			}
		}
	}
	return nil
}
