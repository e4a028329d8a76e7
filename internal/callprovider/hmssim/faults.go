package hmssim

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"strings"
	"time"
)

// Faults are the failures the simulator injects. Which request, event or
// session is hit is a pure function of Seed and its sequence number, so a
// scenario replays identically.
//
// JSON (for HMSSIM_FAULTS and POST /sim/v1/faults) uses snake_case keys;
// durations are Go duration strings ("1.5s") or integer nanoseconds.
type Faults struct {
	// Endpoints maps "METHOD /v2/path-pattern" (e.g. "POST /v2/rooms",
	// "GET /v2/rooms/{room_id}" — wildcard names do not matter — or a literal
	// path) or "*" for every /v2 call to the fault to inject.
	Endpoints map[string]EndpointFault `json:"endpoints,omitempty"`
	// WebhookDuplicate delivers every event twice (same id).
	WebhookDuplicate bool `json:"webhook_duplicate,omitempty"`
	// WebhookReorder is the share of events held back and delivered after the
	// next event.
	WebhookReorder float64 `json:"webhook_reorder,omitempty"`
	// WebhookDropFirst is the share of events whose first delivery is lost:
	// not sent, counted as failed, and retried by the schedule.
	WebhookDropFirst float64 `json:"webhook_drop_first,omitempty"`
	// RecordingFailure is the share of recordings that end in beam.failure.
	RecordingFailure float64 `json:"recording_failure,omitempty"`
	// Seed selects which events, sessions and requests are hit.
	Seed int64 `json:"seed,omitempty"`
}

// EndpointFault is injected into matching /v2 calls. Latency applies to every
// matching call; ErrorRate of them answer Status (default 500) with the 100ms
// error body and, if RetryAfter > 0, a Retry-After header in whole seconds.
type EndpointFault struct {
	ErrorRate  float64       `json:"error_rate,omitempty"`
	Status     int           `json:"status,omitempty"`
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	Latency    time.Duration `json:"latency,omitempty"`
}

type endpointFaultJSON struct {
	ErrorRate  float64         `json:"error_rate,omitempty"`
	Status     int             `json:"status,omitempty"`
	RetryAfter json.RawMessage `json:"retry_after,omitempty"`
	Latency    json.RawMessage `json:"latency,omitempty"`
}

// MarshalJSON writes durations as Go duration strings.
func (f EndpointFault) MarshalJSON() ([]byte, error) {
	out := struct {
		ErrorRate  float64 `json:"error_rate,omitempty"`
		Status     int     `json:"status,omitempty"`
		RetryAfter string  `json:"retry_after,omitempty"`
		Latency    string  `json:"latency,omitempty"`
	}{ErrorRate: f.ErrorRate, Status: f.Status}
	if f.RetryAfter != 0 {
		out.RetryAfter = f.RetryAfter.String()
	}
	if f.Latency != 0 {
		out.Latency = f.Latency.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON accepts durations as strings ("2s") or integer nanoseconds.
func (f *EndpointFault) UnmarshalJSON(b []byte) error {
	var in endpointFaultJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	retryAfter, err := parseJSONDuration(in.RetryAfter)
	if err != nil {
		return fmt.Errorf("retry_after: %w", err)
	}
	latency, err := parseJSONDuration(in.Latency)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	*f = EndpointFault{ErrorRate: in.ErrorRate, Status: in.Status, RetryAfter: retryAfter, Latency: latency}
	return nil
}

func parseJSONDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return time.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("want a duration string or integer nanoseconds, got %s", raw)
	}
	return time.Duration(n), nil
}

// ParseFaults decodes the JSON form of Faults and validates it.
func ParseFaults(b []byte) (Faults, error) {
	var f Faults
	if err := json.Unmarshal(b, &f); err != nil {
		return Faults{}, fmt.Errorf("decode faults: %w", err)
	}
	if err := f.validate(); err != nil {
		return Faults{}, err
	}
	return f, nil
}

func (f Faults) validate() error {
	for name, share := range map[string]float64{
		"webhook_reorder":    f.WebhookReorder,
		"webhook_drop_first": f.WebhookDropFirst,
		"recording_failure":  f.RecordingFailure,
	} {
		if share < 0 || share > 1 || math.IsNaN(share) {
			return fmt.Errorf("hmssim: fault %s must be within [0,1], got %v", name, share)
		}
	}
	for key, ef := range f.Endpoints {
		if ef.ErrorRate < 0 || ef.ErrorRate > 1 || math.IsNaN(ef.ErrorRate) {
			return fmt.Errorf("hmssim: endpoint fault %q: error_rate must be within [0,1]", key)
		}
		if ef.Status != 0 && (ef.Status < 100 || ef.Status > 599) {
			return fmt.Errorf("hmssim: endpoint fault %q: bad status %d", key, ef.Status)
		}
		if ef.RetryAfter < 0 || ef.Latency < 0 {
			return fmt.Errorf("hmssim: endpoint fault %q: negative duration", key)
		}
	}
	return nil
}

func (f Faults) clone() Faults {
	out := f
	if f.Endpoints != nil {
		out.Endpoints = make(map[string]EndpointFault, len(f.Endpoints))
		for k, v := range f.Endpoints {
			out.Endpoints[k] = v
		}
	}
	return out
}

var wildcardRE = regexp.MustCompile(`\{[^}]*\}`)

// normalizePattern makes "GET /v2/rooms/{id}" and "GET /v2/rooms/{room_id}"
// the same key.
func normalizePattern(p string) string {
	method, path, ok := strings.Cut(strings.TrimSpace(p), " ")
	if !ok {
		return wildcardRE.ReplaceAllString(p, "{}")
	}
	return strings.ToUpper(method) + " " + wildcardRE.ReplaceAllString(strings.TrimSpace(path), "{}")
}

// endpointFault finds the fault for a request: its route pattern first, then
// its literal path, then "*".
func (f Faults) endpointFault(pattern, method, path string) (string, EndpointFault, bool) {
	if len(f.Endpoints) == 0 {
		return "", EndpointFault{}, false
	}
	want := normalizePattern(pattern)
	literal := method + " " + path
	for key, ef := range f.Endpoints {
		if key != "*" && normalizePattern(key) == want {
			return key, ef, true
		}
	}
	for key, ef := range f.Endpoints {
		if strings.TrimSpace(key) == literal {
			return key, ef, true
		}
	}
	if ef, ok := f.Endpoints["*"]; ok {
		return "*", ef, true
	}
	return "", EndpointFault{}, false
}

// chance maps (seed, kind, n) to a uniform number in [0,1): the deterministic
// dice of every fault decision.
func chance(seed int64, kind string, n uint64) float64 {
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(seed)) // #nosec G115 -- the bit pattern is hashed; negative seeds are fine
	binary.LittleEndian.PutUint64(b[8:], n)
	_, _ = h.Write(b[:])
	_, _ = h.Write([]byte(kind))
	x := h.Sum64()
	// splitmix64 finaliser: FNV alone is poorly mixed in its high bits.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / float64(1<<53)
}

// hit reports whether the n-th draw of kind falls within share.
func hit(seed int64, kind string, n uint64, share float64) bool {
	if share <= 0 {
		return false
	}
	if share >= 1 {
		return true
	}
	return chance(seed, kind, n) < share
}
