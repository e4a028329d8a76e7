package hmssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// apiError is 100ms's error body: {"code":401,"message":"...","details":[...]}.
type apiError struct {
	Code    int      `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s %v", e.Code, e.Message, e.Details) }

func errorf(code int, message string, details ...string) *apiError {
	return &apiError{Code: code, Message: message, Details: details}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":500,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errorf(http.StatusInternalServerError, "internal error")
	}
	writeJSON(w, ae.Code, ae)
}

// respond writes a handler's answer: the error, or 200 with the body.
func respond(w http.ResponseWriter, body any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

const maxBody = 1 << 20

// decodeBody reads an optional JSON object; an empty body leaves v untouched.
// Unknown fields are accepted, as 100ms does.
func decodeBody(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errorf(http.StatusBadRequest, "invalid request body", err.Error())
	}
	return nil
}

// readBody reads a request's body of at most maxBody bytes, refusing a
// longer one rather than cutting it.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid request body", err.Error())
	}
	if len(b) > maxBody {
		return nil, errorf(http.StatusBadRequest, "invalid request body", "body too large")
	}
	return b, nil
}

// page is 100ms's list envelope.
type page[T any] struct {
	Limit int    `json:"limit"`
	Data  []T    `json:"data"`
	Last  string `json:"last"`
}

// paginate lists items newest first (as 100ms does) after the cursor start,
// the "last" id of the previous page. Ids sort by creation, so the cursor is
// a comparison and survives items changing between pages. 100ms documents
// limit 10..100: values outside are clamped and the limit used is echoed.
func paginate[T any](r *http.Request, items []T, id func(T) string) (page[T], error) {
	q := r.URL.Query()
	limit := 10
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return page[T]{}, errorf(http.StatusBadRequest, "invalid limit", s)
		}
		limit = min(max(n, 10), 100)
	}
	start := q.Get("start")
	if start != "" && !isObjectID(start) {
		return page[T]{}, errorf(http.StatusBadRequest, "invalid start", start)
	}
	out := page[T]{Limit: limit, Data: make([]T, 0, limit)}
	// items arrive oldest first; walk them backwards.
	for i := len(items) - 1; i >= 0 && len(out.Data) < limit; i-- {
		if start != "" && id(items[i]) >= start {
			continue
		}
		out.Data = append(out.Data, items[i])
	}
	if len(out.Data) > 0 {
		out.Last = id(out.Data[len(out.Data)-1])
	}
	return out, nil
}

// boolFilter parses an optional boolean query parameter.
func boolFilter(r *http.Request, name string) (*bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid "+name, s)
	}
	return &b, nil
}

// listFilter is what the room and session lists filter by besides ids: an
// optional flag (enabled, active) and a created_at range (after, before).
type listFilter struct {
	flag          *bool
	after, before time.Time
}

func parseListFilter(r *http.Request, flag string) (f listFilter, err error) {
	if f.flag, err = boolFilter(r, flag); err != nil {
		return f, err
	}
	if f.after, err = timeFilter(r, "after"); err != nil {
		return f, err
	}
	f.before, err = timeFilter(r, "before")
	return f, err
}

// keeps reports whether an object with the flag, created at created, passes.
func (f listFilter) keeps(flag bool, created time.Time) bool {
	return (f.flag == nil || *f.flag == flag) &&
		(f.after.IsZero() || !created.Before(f.after)) && (f.before.IsZero() || !created.After(f.before))
}

// timeFilter parses an optional RFC 3339 query parameter.
func timeFilter(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "invalid "+name, s)
	}
	return t, nil
}

// utc strips the monotonic reading and location so JSON shows "...Z".
func utc(t time.Time) time.Time { return t.UTC().Round(0) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := utc(*t)
	return &u
}
