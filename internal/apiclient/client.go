package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// APIError is an error answer of the engine's API or of the simulator.
type APIError struct {
	Method, Path string
	Status       int
	Code         string // the API's stable error code; empty for the simulator
	Message      string
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s %s: HTTP %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Message)
}

// StatusOf returns the HTTP status of an *APIError in err's chain, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// maxAnswer bounds what is read from a server: case views and event logs
// are far smaller, and a misbehaving server must not exhaust memory.
const maxAnswer = 8 << 20

// Request is one HTTP call to the API or the simulator.
type Request struct {
	Method string
	URL    string
	Token  string // bearer token; none when empty
	JSON   any    // request body, encoded as JSON; or
	Body   io.Reader
	// ContentType of Body (JSON sets its own).
	ContentType string
	Header      map[string]string
}

// Do sends r and decodes a 2xx answer into out (unless out is nil). It
// returns the HTTP status; any answer of 300 or more is an *APIError.
func Do(ctx context.Context, hc *http.Client, r Request, out any) (int, error) {
	what := r.Method + " " + r.URL
	body, contentType := r.Body, r.ContentType
	if r.JSON != nil {
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return 0, fmt.Errorf("%s: encode body: %w", what, err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s: read answer: %w", what, err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, answerError(r.Method, req.URL.Path, resp.StatusCode, b)
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s: decode answer: %w", what, err)
	}
	return resp.StatusCode, nil
}

// answerError reads the API's {"error":{"code","message"}} or the
// simulator's 100ms-style {"code":n,"message"} error body.
func answerError(method, path string, status int, body []byte) error {
	var apiBody struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Message string `json:"message"`
	}
	e := &APIError{Method: method, Path: path, Status: status}
	if json.Unmarshal(body, &apiBody) == nil {
		e.Code, e.Message = apiBody.Error.Code, apiBody.Error.Message
		if e.Message == "" {
			e.Message = apiBody.Message
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300]
		}
	}
	return e
}
