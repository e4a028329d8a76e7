package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

const (
	// maxJSONBody bounds every JSON request; the largest legitimate body (a
	// case with a customer's name and contacts) is well under 1 KiB.
	maxJSONBody = 64 << 10
	// maxJSONDepth refuses deeply nested documents, which no endpoint needs
	// (the deepest is 2) and which cost a decoder stack.
	maxJSONDepth = 8
)

// decodeJSON reads a JSON object into dst. Unknown fields are refused with
// 422 rather than ignored: a misspelt optional field (say
// "audit_rejection") would otherwise silently take its default, and in a KYC
// flow a silently ignored instruction is worse than a refused request.
func decodeJSON(c *gin.Context, dst any) *apiError {
	if e := requireMediaType(c, "application/json"); e != nil {
		return e
	}
	body, e := readLimited(c, maxJSONBody)
	if e != nil {
		return e
	}
	return unmarshalStrict(body, dst)
}

// bind is decodeJSON for a handler: on a bad body it has answered and
// returns false.
func (s *Server) bind(c *gin.Context, dst any) bool {
	if e := decodeJSON(c, dst); e != nil {
		s.abort(c, e)
		return false
	}
	return true
}

// bodyFor is the JSON body of a request that callers in roles may make;
// when the caller may not, or the body is wrong, it has answered and
// returns false.
func bodyFor[T any](s *Server, c *gin.Context, roles ...kyc.Role) (T, bool) {
	var req T
	if !s.allow(c, roles...) || !s.bind(c, &req) {
		return req, false
	}
	return req, true
}

func unmarshalStrict(body []byte, dst any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return malformed("the request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return malformed("the request body is not valid UTF-8")
	}
	if depth(body) > maxJSONDepth {
		return malformed("the JSON document is nested deeper than %d levels", maxJSONDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed("the request body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) *apiError {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return malformed("the request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return malformed("the request body must be a JSON object")
		}
		return invalidField(typ.Field, "must be a JSON %s", jsonKind(typ.Type.Kind().String()))
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return newError(http.StatusUnprocessableEntity, codeUnknownField, "unknown field %s; see the API reference for the accepted fields", name)
	}
	return malformed("the request body could not be read as the expected JSON object")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return "number"
}

// depth returns the deepest nesting of objects and arrays in a JSON text,
// without decoding it.
func depth(b []byte) int {
	d, deepest := 0, 0
	inString, escaped := false, false
	for _, ch := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == '{' || ch == '[':
			d++
			deepest = max(deepest, d)
		case ch == '}' || ch == ']':
			d--
		}
	}
	return deepest
}

// requireMediaType answers 415 unless the request's Content-Type is want
// (parameters allowed; for JSON only a UTF-8 charset).
func requireMediaType(c *gin.Context, want string) *apiError {
	ct := c.GetHeader("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !strings.EqualFold(mt, want) {
		return newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "Content-Type must be %s", want)
	}
	if cs, ok := params["charset"]; ok && want == "application/json" && !strings.EqualFold(cs, "utf-8") {
		return newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "JSON bodies must be UTF-8")
	}
	return nil
}

// readLimited reads the whole body, refusing more than limit bytes with 413.
func readLimited(c *gin.Context, limit int64) ([]byte, *apiError) {
	if c.Request.ContentLength > limit {
		return nil, newError(http.StatusRequestEntityTooLarge, codeTooLarge, "the request body is larger than %d bytes", limit)
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	body, err := io.ReadAll(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, newError(http.StatusRequestEntityTooLarge, codeTooLarge, "the request body is larger than %d bytes", limit)
		}
		return nil, malformed("the request body could not be read")
	}
	return body, nil
}
