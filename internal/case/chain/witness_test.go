package chain

import (
	"strings"
	"testing"
)

func TestCheckWitness(t *testing.T) {
	log := []Linked{{1, "h1"}, {2, "h2"}, {3, "h3"}}
	tests := []struct {
		name    string
		log     []Linked
		saved   Head
		pending []Head
		want    string // substring of the problem; "" for agreement
	}{
		{"agrees", log, Head{3, "h3"}, nil, ""},
		{"empty log, nothing saved", nil, Head{}, nil, ""},
		{"a save in flight has landed", log, Head{2, "h2"}, []Head{{3, "h3"}, {4, "h4"}}, ""},
		{"truncated", log[:2], Head{3, "h3"}, nil, "truncated"},
		{"rewritten head", []Linked{{1, "h1"}, {2, "h2"}, {3, "forged"}}, Head{3, "h3"}, nil, "rewritten"},
		{"rewritten earlier and re-hashed", []Linked{{1, "x1"}, {2, "x2"}, {3, "x3"}}, Head{3, "h3"}, nil, "rewritten"},
		{"extended", append(log, Linked{4, "h4"}), Head{3, "h3"}, nil, "never made"},
		{"pending differs", log, Head{2, "h2"}, []Head{{3, "other"}}, "differs"},
	}
	for _, tt := range tests {
		got := CheckWitness(tt.log, tt.saved, tt.pending)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: CheckWitness = %q, want %q", tt.name, got, tt.want)
		}
	}
}
