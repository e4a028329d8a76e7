package hms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is a non-2xx answer of the 100ms API. The documented body is
// {"code":..,"message":..,"details":[..]}; a body that is not that JSON
// (a proxy's HTML page, say) is tolerated and summarised in Message.
type APIError struct {
	Status     int           // HTTP status
	Code       int           // code from the body; the HTTP status when the body has none
	Message    string        // message from the body, or the status text
	Details    []string      // details from the body, if any
	RetryAfter time.Duration // from the Retry-After header (seconds or HTTP date); 0 if none
	Method     string
	Path       string // URL path of the request, without the query
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hms: %s %s: %d", e.Method, e.Path, e.Status)
	if e.Message != "" {
		b.WriteString(" ")
		b.WriteString(e.Message)
	}
	if len(e.Details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(e.Details, "; "))
		b.WriteString(")")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later.
//
// 401 and 403 reach the caller only after the client has already re-signed
// the management token once and been refused again; they are retryable
// because the usual causes (a secret being rotated, clock skew, a 100ms auth
// outage) pass, and a caller's bounded retry policy ends the permanent ones.
// 400, 404, 422 and every other 4xx are the request's own fault.
func (e *APIError) Retryable() bool {
	switch {
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		return true
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooManyRequests:
		return true
	case e.Status >= 500:
		return true
	}
	return false
}

// NetworkError is a request that got no HTTP answer: connection refused or
// reset, DNS failure, TLS failure, timeout, or a body cut short.
type NetworkError struct {
	Method, Path string
	Err          error
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("hms: %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth retrying: 401/403 (after the one
// re-sign), 408, 429, 5xx and network or timeout failures. A request the
// caller cancelled is not retryable, nor is anything the client refused to
// send (ErrInvalidArgument) or could not decode.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var api *APIError
	if errors.As(err, &api) {
		return api.Retryable()
	}
	var nerr *NetworkError
	if errors.As(err, &nerr) {
		return !errors.Is(err, context.Canceled)
	}
	return false
}

// RetryAfterOf returns the server's Retry-After of err, or 0 if none.
func RetryAfterOf(err error) time.Duration {
	var api *APIError
	if errors.As(err, &api) {
		return api.RetryAfter
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var api *APIError
	return errors.As(err, &api) && api.Status == http.StatusNotFound
}

// parseErrorBody decodes the documented error body, tolerating missing or
// mistyped fields and bodies that are not JSON at all.
func parseErrorBody(data []byte) (code int, message string, details []string) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return 0, "", nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return 0, summarise(string(data)), nil
	}
	code = int(flexInt(m["code"]))
	message = flexString(m["message"])
	if message == "" {
		message = flexString(m["error"])
	}
	var list []json.RawMessage
	if err := json.Unmarshal(m["details"], &list); err == nil {
		for _, d := range list {
			if s := flexString(d); s != "" {
				details = append(details, s)
			}
		}
	} else if s := flexString(m["details"]); s != "" {
		details = []string{s}
	}
	return code, message, details
}

// summarise keeps an error page short enough for an error string.
func summarise(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 200
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// A day is far beyond any sane back-off; the cap keeps a garbage header from
// overflowing or parking a case forever.
const maxRetryAfterSeconds = 24 * 60 * 60

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, maxRetryAfterSeconds)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			// Whole seconds, rounded up: waiting a fraction longer than asked
			// is harmless, coming back early is not.
			d = (d + time.Second - 1).Truncate(time.Second)
			return min(d, maxRetryAfterSeconds*time.Second)
		}
	}
	return 0
}
