package message

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// The specification's published test vector (secret, id, timestamp,
// payload and the signature every implementation must produce).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignerMatchesTheSpecificationVector(t *testing.T) {
	// The vector's secret has 24 bytes: the smallest we accept.
	s, err := NewSigner([]string{vectorSecret})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Headers(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("webhook-signature"); got != vectorSignature {
		t.Fatalf("signature %q, want %q", got, vectorSignature)
	}
	if h.Get("webhook-id") != vectorID || h.Get("webhook-timestamp") != "1614265330" {
		t.Fatalf("headers %v", h)
	}
}

// TestRotation: with two secrets every message carries two signatures and
// a receiver that knows either secret accepts it (checked with the
// specification's library); one that knows neither refuses it, and so does
// one whose payload was changed.
func TestRotation(t *testing.T) {
	oldSecret, newSecret, other := NewSecret(), NewSecret(), NewSecret()
	s, err := NewSigner([]string{newSecret, oldSecret})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"case.status_changed"}`)
	h, err := s.Headers("msg_x_1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures, want 2: %q", n, h.Get("webhook-signature"))
	}
	for _, tc := range []struct {
		name   string
		secret string
		body   []byte
		want   error
	}{
		{"new secret", newSecret, body, nil},
		{"old secret", oldSecret, body, nil},
		{"unknown secret", other, body, standardwebhooks.ErrNoMatchingSignature},
		{"changed payload", newSecret, []byte(`{"type":"case.status_changed "}`), standardwebhooks.ErrNoMatchingSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wh, err := standardwebhooks.NewWebhook(tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			err = wh.Verify(tc.body, http.Header(h))
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCheckSecret(t *testing.T) {
	for _, tc := range []struct {
		secret string
		ok     bool
	}{
		{NewSecret(), true},
		{vectorSecret, true},
		{strings.TrimPrefix(vectorSecret, "whsec_"), false},
		{"whsec_not base64!", false},
		{"whsec_c2hvcnQ=", false},                      // 5 bytes
		{"whsec_" + strings.Repeat("QUFB", 30), false}, // 90 bytes
	} {
		if err := CheckSecret(tc.secret); (err == nil) != tc.ok {
			t.Errorf("CheckSecret(%.12q…) = %v, want ok=%v", tc.secret, err, tc.ok)
		} else if err != nil && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}

func TestBuild(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	ev := func(seq int64, typ, data string) LogEvent {
		return LogEvent{CaseID: "c1", Seq: seq, Type: typ, At: at.Add(time.Duration(seq) * time.Second), Data: json.RawMessage(data)}
	}
	msgs, err := Build("CUST-1", InitialStatus, []LogEvent{
		ev(1, "case_created", `{"customer_ref":"CUST-1"}`),
		ev(2, LogCaptureAdded, `{"attempt":1,"capture_id":"cap-1","kind":"face","object_key":"cases/c1/x.jpg","size":10,"sha256":"ab"}`),
		ev(3, LogStatusChanged, `{"from":"in_call","to":"rejected","reason":"Asha's ID looked forged","attempt":1}`),
		ev(4, LogStatusChanged, `{"from":"waiting_for_participants","to":"failed","reason":"max_attempts_reached","attempt":3}`),
		ev(5, LogRecordingVerified, `{"attempt":1,"recording_id":"r1","path":"s3://b/k","size":99,"duration":60,"sha256":"cd"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"type":"case.capture_added","timestamp":"2026-05-01T10:00:02Z","data":{"case_id":"c1","customer_reference":"CUST-1","seq":2,"status":"waiting_for_participants","attempt":1,"capture_id":"cap-1","capture_kind":"face","size":10,"sha256":"ab"}}`,
		`{"type":"case.status_changed","timestamp":"2026-05-01T10:00:03Z","data":{"case_id":"c1","customer_reference":"CUST-1","seq":3,"status":"rejected","attempt":1,"previous_status":"in_call"}}`,
		`{"type":"case.status_changed","timestamp":"2026-05-01T10:00:04Z","data":{"case_id":"c1","customer_reference":"CUST-1","seq":4,"status":"failed","attempt":3,"previous_status":"waiting_for_participants","status_reason":"max_attempts_reached"}}`,
		`{"type":"case.recording_verified","timestamp":"2026-05-01T10:00:05Z","data":{"case_id":"c1","customer_reference":"CUST-1","seq":5,"status":"failed","attempt":1,"size":99,"sha256":"cd","recording_id":"r1","duration_seconds":60}}`,
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if string(m.Payload) != want[i] {
			t.Errorf("message %d:\n got  %s\n want %s", i, m.Payload, want[i])
		}
		if m.ID != ID("c1", m.Seq) {
			t.Errorf("message %d id %s", i, m.ID)
		}
	}
	if StatusAfter(json.RawMessage(`{"to":"approved"}`)) != kyc.StatusApproved {
		t.Error("StatusAfter")
	}
}
