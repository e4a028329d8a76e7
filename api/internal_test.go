package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// TestRecoveryAnswersInTheErrorShape panics in a handler: the client gets a
// 500 in the error shape, the log gets the panic but not the request body.
func TestRecoveryAnswersInTheErrorShape(t *testing.T) {
	var logs bytes.Buffer
	m, err := newMetrics(prometheus.NewRegistry(), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: m}
	e := gin.New()
	e.Use(s.requestIDMiddleware, s.accessLog, s.recovery)
	e.POST("/boom", func(c *gin.Context) {
		var v map[string]any
		_ = json.NewDecoder(c.Request.Body).Decode(&v)
		panic("kaboom")
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("POST", "/boom", strings.NewReader(`{"name":"Secret Person"}`)))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != codeInternal || body.Error.Message == "" {
		t.Fatalf("body %s (%v)", rec.Body.String(), err)
	}
	if !strings.Contains(logs.String(), "kaboom") || strings.Contains(logs.String(), "Secret Person") {
		t.Fatalf("log: %s", logs.String())
	}
	if rec.Header().Get(headerRequestID) == "" {
		t.Fatal("no request id")
	}
}

func TestDepth(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{`{}`, 1},
		{`{"a":[1,{"b":2}]}`, 3},
		{`{"a":"[[[[{{{{"}`, 1},
		{`{"a":"\"[[["}`, 1},
		{`[[[[[[[[[[]]]]]]]]]]`, 10},
	} {
		if got := depth([]byte(tt.in)); got != tt.want {
			t.Errorf("depth(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestSniff(t *testing.T) {
	for _, tt := range []struct {
		head []byte
		want string
	}{
		{[]byte("\x89PNG\r\n\x1a\n0000"), "image/png"},
		{[]byte("\xff\xd8\xff\xe0"), "image/jpeg"},
		{[]byte("RIFF\x10\x00\x00\x00WEBPVP8 "), "image/webp"},
		{[]byte("RIFF\x10\x00\x00\x00AVI LIST"), "video/avi"},
		{[]byte("GIF89a"), "image/gif"},
		{[]byte("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"), "text/plain"},
	} {
		if got := sniff(tt.head); got != tt.want {
			t.Errorf("sniff(%q) = %q, want %q", tt.head, got, tt.want)
		}
		_, ok := imageTypes[sniff(tt.head)]
		if wantOK := tt.want == "image/png" || tt.want == "image/jpeg" || tt.want == "image/webp"; ok != wantOK {
			t.Errorf("%q accepted=%v", tt.head, ok)
		}
	}
}

func TestUpdateIDs(t *testing.T) {
	p := principal{Sub: "agent-1", Role: "agent"}
	q := principal{Sub: "agent-2", Role: "agent"}
	//lint:ignore SA4000 two calls with the same arguments must give the same id: that is the property under test
	if updateID("agent-decision", p, "", "req-1") != updateID("agent-decision", p, "", "req-1") {
		t.Fatal("a retry with the same request id gets another update id")
	}
	if updateID("agent-decision", p, "", "req-1") == updateID("agent-decision", p, "", "req-2") {
		t.Fatal("two requests share an update id")
	}
	if updateID("agent-decision", p, "", "req-1") == updateID("agent-decision", q, "", "req-1") {
		t.Fatal("two callers' request ids collide")
	}
	if updateID("agent-decision", p, "k", "req-1") != updateID("agent-decision", p, "k", "req-2") {
		t.Fatal("a retry with the same Idempotency-Key gets another update id")
	}
	if updateID("agent-decision", p, "k", "") == updateID("agent-decision", q, "k", "") {
		t.Fatal("two callers' keys collide")
	}
	if !strings.HasPrefix(updateID("agent-decision", p, "k1", ""), "agent-decision-k1-") {
		t.Fatal("a keyed update id does not carry the key")
	}
}
