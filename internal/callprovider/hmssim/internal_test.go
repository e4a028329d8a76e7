package hmssim

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestChanceIsUniformAndDeterministic(t *testing.T) {
	const n = 20000
	var buckets [10]int
	for i := range uint64(n) {
		c := chance(1, "kind", i)
		if c != chance(1, "kind", i) {
			t.Fatal("chance is not deterministic")
		}
		if c < 0 || c >= 1 {
			t.Fatalf("chance %v outside [0,1)", c)
		}
		buckets[int(c*10)]++
	}
	for i, b := range buckets {
		if b < n/10*8/10 || b > n/10*12/10 {
			t.Fatalf("bucket %d has %d of %d draws: %v", i, b, n, buckets)
		}
	}
	if chance(1, "a", 5) == chance(1, "b", 5) || chance(1, "a", 5) == chance(2, "a", 5) {
		t.Fatal("kind and seed do not change the draw")
	}
	if hit(1, "x", 0, 0) || !hit(1, "x", 0, 1) {
		t.Fatal("shares 0 and 1 must never and always hit")
	}
}

func TestEndpointFaultMatching(t *testing.T) {
	f := Faults{Endpoints: map[string]EndpointFault{
		"get /v2/rooms/{id}": {Status: 501},
		"POST /v2/rooms/abc": {Status: 502},
		"*":                  {Status: 503},
		"POST /v2/recordings/room/{room_id}/start": {Status: 504},
	}}
	tests := []struct {
		pattern, method, path string
		want                  int
	}{
		{"GET /v2/rooms/{room_id}", "GET", "/v2/rooms/x", 501},
		{"POST /v2/rooms/{room_id}", "POST", "/v2/rooms/abc", 502},
		{"POST /v2/rooms/{room_id}", "POST", "/v2/rooms/def", 503},
		{"POST /v2/recordings/room/{room_id}/start", "POST", "/v2/recordings/room/r/start", 504},
	}
	for _, tc := range tests {
		if _, ef, ok := f.endpointFault(tc.pattern, tc.method, tc.path); !ok || ef.Status != tc.want {
			t.Errorf("%s %s: %+v %v, want status %d", tc.method, tc.path, ef, ok, tc.want)
		}
	}
	if _, _, ok := (Faults{}).endpointFault("GET /v2/rooms", "GET", "/v2/rooms"); ok {
		t.Error("no faults configured, yet one matched")
	}
}

func TestRecordingFile(t *testing.T) {
	a, b := recordingFile("rec-1", 3), recordingFile("rec-1", 3)
	if string(a) != string(b) {
		t.Fatal("recording bytes are not deterministic")
	}
	// The clip's top-level boxes, then the free box, cover the file exactly.
	var boxes []string
	for rest := a; len(rest) > 0; {
		n := int(binary.BigEndian.Uint32(rest[:4]))
		if n < 8 || n > len(rest) {
			t.Fatalf("box %q claims %d of %d bytes", rest[4:8], n, len(rest))
		}
		boxes = append(boxes, string(rest[4:8]))
		rest = rest[n:]
	}
	if got := strings.Join(boxes, " "); !strings.HasPrefix(got, "ftyp moov ") || !strings.Contains(got, " mdat ") || boxes[len(boxes)-1] != "free" {
		t.Fatalf("top-level boxes %q, want ftyp, moov before mdat (playback starts before the download ends), free last", got)
	}
	if len(a) < len(recordingClip)+3<<10 {
		t.Fatalf("%d bytes: no per-second padding", len(a))
	}
	if string(recordingFile("rec-2", 3)) == string(a) {
		t.Fatal("different recordings have the same bytes")
	}
	if len(recordingFile("long", 1_000_000)) > len(recordingClip)+8+64+248<<10 {
		t.Fatal("file size is not capped")
	}
}
