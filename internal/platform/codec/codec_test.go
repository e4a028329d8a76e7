package codec

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, KeySize)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

type reason struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

// TestRotation: a payload sealed under key k1 is unreadable without the
// ring (no clear text in it), opens with the ring that sealed it and with a
// rotated ring that still lists k1, and not with a ring that dropped k1.
func TestRotation(t *testing.T) {
	k1, k2 := "k1:"+newKey(t), "k2:"+newKey(t)
	old, err := ParseKeys(k1)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := ParseKeys(k2 + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := ParseKeys(k2)
	if err != nil {
		t.Fatal(err)
	}
	in := reason{"reject", "Asha Verma's PAN does not match her face"}
	sealed, err := DataConverter(old).ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed.GetData()), "Asha") || string(sealed.Metadata[MetadataKeyID]) != "k1" ||
		string(sealed.Metadata[converter.MetadataEncoding]) != EncodingEncrypted {
		t.Fatalf("sealed payload: %v", sealed)
	}
	for name, ring := range map[string]*Keyring{"sealing ring": old, "rotated ring": rotated} {
		var out reason
		if err := DataConverter(ring).FromPayload(sealed, &out); err != nil || out != in {
			t.Fatalf("%s: %+v, %v", name, out, err)
		}
	}
	var out reason
	if err := DataConverter(dropped).FromPayload(sealed, &out); err == nil || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("a ring without k1 opened it: %v", err)
	}
	// The rotated ring seals with its first key.
	fresh, err := DataConverter(rotated).ToPayload(in)
	if err != nil || string(fresh.Metadata[MetadataKeyID]) != "k2" {
		t.Fatalf("rotated ring sealed with %q, %v", fresh.Metadata[MetadataKeyID], err)
	}
}

func TestTamperAndPassThrough(t *testing.T) {
	ring := DevKeyring()
	c := ring.Codec()
	plain, err := converter.GetDefaultDataConverter().ToPayload(reason{"approve", "ok"})
	if err != nil {
		t.Fatal(err)
	}
	// A history written before the codec: its payloads pass through.
	got, err := c.Decode([]*commonpb.Payload{plain})
	if err != nil || got[0] != plain {
		t.Fatalf("plain payload: %v, %v", got, err)
	}
	sealed, err := c.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	// Encoding twice does not seal twice.
	again, err := c.Encode(sealed)
	if err != nil || again[0] != sealed[0] {
		t.Fatalf("re-encode: %v", err)
	}
	flipped := &commonpb.Payload{Metadata: sealed[0].Metadata, Data: append([]byte(nil), sealed[0].Data...)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{flipped}); err == nil {
		t.Fatal("an altered payload opened")
	}
	// Relabelled with another id of the same key: the id is authenticated.
	other, err := ParseKeys(DevKeys() + ",dev2:" + strings.TrimPrefix(DevKeys(), "dev:"))
	if err != nil {
		t.Fatal(err)
	}
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{}, Data: sealed[0].Data}
	for k, v := range sealed[0].Metadata {
		relabelled.Metadata[k] = v
	}
	relabelled.Metadata[MetadataKeyID] = []byte("dev2")
	if _, err := other.Codec().Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Fatal("a relabelled payload opened")
	}
	if _, err := c.Decode([]*commonpb.Payload{{Metadata: sealed[0].Metadata, Data: []byte("x")}}); err == nil {
		t.Fatal("a truncated payload opened")
	}
}

func TestParseKeys(t *testing.T) {
	good := newKey(t)
	for _, tc := range []struct {
		in, problem string
	}{
		{"a:" + good, ""},
		{"a:" + good + ", b:" + newKey(t), ""},
		{good, "want id:base64key"},
		{"a b:" + good, "must be 1 to 64"},
		{"a:" + good + ",a:" + newKey(t), "given twice"},
		{"a:not-base64!", "not standard base64"},
		{"a:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), "16 bytes, want 32"},
	} {
		k, err := ParseKeys(tc.in)
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("ParseKeys(%q): %v", tc.in, err)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("ParseKeys(%q) = %v, want %q", tc.in, err, tc.problem)
		case err != nil && strings.Contains(err.Error(), good):
			t.Errorf("the error repeats a key: %v", err)
		case err == nil && (k.ActiveID() != "a" || k.UsesDevKey()):
			t.Errorf("ParseKeys(%q): active %s, dev %v", tc.in, k.ActiveID(), k.UsesDevKey())
		}
	}
	if !DevKeyring().UsesDevKey() {
		t.Error("the dev ring is not recognised")
	}
	// The dev key under another id is still the dev key.
	renamed, err := ParseKeys("prod:" + strings.TrimPrefix(DevKeys(), "dev:"))
	if err != nil || !renamed.UsesDevKey() {
		t.Errorf("the dev key under another id: %v", err)
	}
}
