package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vkyc-engine/vkyc/internal/platform/codec"
)

func payloadsBody(t *testing.T, ps ...*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readPayloads(t *testing.T, r response) []*commonpb.Payload {
	t.Helper()
	var out commonpb.Payloads
	if err := protojson.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("codec answer %d %q: %v", r.status, r.body, err)
	}
	return out.Payloads
}

// TestCodecEndpoint: the remote codec protocol over the engine's keys, for
// admins only, by bearer token or by the cookie of the sign-in page, and
// for browsers only from the configured origins.
func TestCodecEndpoint(t *testing.T) {
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	dc := codec.DataConverter(e.cfg.Codec.Keys)
	sealed, err := dc.ToPayload(map[string]string{"reason": "Asha's PAN is blurred"})
	if err != nil {
		t.Fatal(err)
	}
	decode := req{method: "POST", path: "/codec/decode", raw: payloadsBody(t, sealed), contentType: "application/json"}

	d := decode
	d.token = e.admin()
	r := e.call(d)
	wantStatus(t, r, http.StatusOK)
	got := readPayloads(t, r)
	if len(got) != 1 || !strings.Contains(string(got[0].Data), "Asha's PAN is blurred") {
		t.Fatalf("decoded: %v", got)
	}
	// Encode, then decode: the round trip of the Web UI's "edit and send".
	enc := req{method: "POST", path: "/codec/encode", raw: payloadsBody(t, got[0]), contentType: "application/json", token: e.admin()}
	r = e.call(enc)
	wantStatus(t, r, http.StatusOK)
	again := readPayloads(t, r)
	if string(again[0].Metadata["encoding"]) != codec.EncodingEncrypted || strings.Contains(string(again[0].Data), "Asha") {
		t.Fatalf("encoded: %v", again[0])
	}

	for _, tc := range []struct {
		name    string
		token   string
		headers map[string]string
		status  int
		code    string
	}{
		{"no sign-in", "", nil, 401, "unauthorized"},
		{"an agent", e.agent("agent-7"), nil, 403, "forbidden"},
		{"the bank's backend", e.service(), nil, 403, "forbidden"},
		{"a bad token", "x.y.z", nil, 401, "unauthorized"},
		{"another site", e.admin(), map[string]string{"Origin": "https://evil.example"}, 403, "origin_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decode
			d.token, d.headers = tc.token, tc.headers
			wantError(t, e.call(d), tc.status, tc.code)
		})
	}

	// A browser: preflight from the Web UI's origin, the sign-in page, the
	// cookie, the call with credentials.
	ui := "http://127.0.0.1:8233"
	r = e.call(req{method: "OPTIONS", path: "/codec/decode", headers: map[string]string{"Origin": ui, "Access-Control-Request-Method": "POST"}})
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != ui || r.header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "X-Namespace") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	r = e.call(req{method: "GET", path: "/codec/sign-in"})
	if r.status != 200 || !strings.Contains(string(r.body), `<label for="token">`) || strings.Contains(string(r.body), "<script") {
		t.Fatalf("sign-in page: %d %s", r.status, r.body)
	}
	form := func(tok string) req {
		return req{method: "POST", path: "/codec/sign-in", raw: []byte(url.Values{"token": {tok}}.Encode()), contentType: "application/x-www-form-urlencoded"}
	}
	if r = e.call(form(e.agent("agent-7"))); r.status != http.StatusForbidden || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("an agent signed in: %d", r.status)
	}
	evil := form(e.admin())
	evil.headers = map[string]string{"Origin": "https://evil.example"}
	wantError(t, e.call(evil), http.StatusForbidden, "origin_not_allowed")
	r = e.call(form(e.admin()))
	wantStatus(t, r, http.StatusOK)
	cookie := r.header.Get("Set-Cookie")
	if !strings.Contains(cookie, "vkyc_codec=") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "Path=/codec") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("cookie %q", cookie)
	}
	d = decode
	d.headers = map[string]string{"Origin": ui, "Cookie": strings.Split(cookie, ";")[0]}
	r = e.call(d)
	wantStatus(t, r, http.StatusOK)
	if r.header.Get("Access-Control-Allow-Origin") != ui || !strings.Contains(string(readPayloads(t, r)[0].Data), "blurred") {
		t.Fatalf("decode with the cookie: %v %s", r.header, r.body)
	}

	// A payload sealed with a key the engine no longer has.
	other, _ := codec.ParseKeys("gone:" + strings.Repeat("A", 43) + "=")
	lost, _ := codec.DataConverter(other).ToPayload("x")
	d = decode
	d.token, d.raw = e.admin(), payloadsBody(t, lost)
	if r = e.call(d); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"gone"`) {
		t.Fatalf("unknown key: %d %s", r.status, r.body)
	}
}
