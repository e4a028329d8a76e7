// Package hms is the 100ms server API client of the engine: management and
// peer tokens, rooms, active rooms, recordings, sessions and templates, the
// typed errors the activities base their retry decisions on, and the webhook
// event types with their tolerant decoder and verifier.
//
// The client never retries on its own except for the one re-sign after a
// 401/403 that the official SDKs also do: retry policy belongs to the caller
// (Temporal activities), which asks IsRetryable and RetryAfterOf.
package hms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is the production 100ms REST base.
const DefaultBaseURL = "https://api.100ms.live/v2"

const (
	defaultHTTPTimeout = 15 * time.Second
	defaultTokenTTL    = 24 * time.Hour
	// A token this close to its expiry is re-signed before use, so that a
	// request in flight never carries a token that expires on the way.
	tokenRefreshMargin = 30 * time.Second
	// A shorter management token would be re-signed for nearly every request.
	minTokenTTL = time.Minute
	// 100ms accepts limits of 10..100; the largest page means the fewest calls.
	pageLimit = 100
	// A listing longer than this is a server bug (a cursor that never ends),
	// not data: the engine has at most a few pages per room.
	maxPages = 1000
	// Responses are small JSON documents; the cap protects the worker's memory
	// from a misbehaving server or proxy.
	maxResponseBytes = 8 << 20
	maxErrorBytes    = 64 << 10
	userAgent        = "vkyc-engine-hms/1"
)

// Config configures a Client. Only AccessKey and AppSecret are required.
type Config struct {
	// BaseURL is the REST base including the /v2 version segment; the
	// simulator serves the same paths under its own base, e.g.
	// "http://127.0.0.1:8090/v2". Default DefaultBaseURL.
	BaseURL    string
	AccessKey  string       // app access key
	AppSecret  string       // app secret (HS256 key, raw bytes)
	HTTPClient *http.Client // default: timeout 15s
	Now        func() time.Time
	TokenTTL   time.Duration // management token lifetime, default 24h, at least 1m
	Logger     *slog.Logger  // default slog.Default(); never receives tokens or secrets
}

// Client calls the 100ms server API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	accessKey string
	secret    []byte
	http      *http.Client
	now       func() time.Time
	tokenTTL  time.Duration
	log       *slog.Logger

	mu      sync.Mutex
	mgmt    string
	mgmtExp time.Time
}

// ErrInvalidArgument marks a request the client refused to send because it
// could never succeed; it is never retryable.
var ErrInvalidArgument = errors.New("hms: invalid argument")

// New validates cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.AccessKey) == "" {
		return nil, fmt.Errorf("%w: access key is empty", ErrInvalidArgument)
	}
	if cfg.AppSecret == "" {
		return nil, fmt.Errorf("%w: app secret is empty", ErrInvalidArgument)
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("%w: base URL: %v", ErrInvalidArgument, err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q must be absolute http(s)", ErrInvalidArgument, raw)
	}
	if base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("%w: base URL must not carry a query, fragment or credentials", ErrInvalidArgument)
	}
	ttl := cfg.TokenTTL
	if ttl == 0 {
		ttl = defaultTokenTTL
	}
	if ttl < minTokenTTL {
		return nil, fmt.Errorf("%w: token TTL %s is shorter than %s", ErrInvalidArgument, ttl, minTokenTTL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{
		base:      base,
		accessKey: cfg.AccessKey,
		secret:    []byte(cfg.AppSecret),
		http:      hc,
		now:       now,
		tokenTTL:  ttl,
		log:       log,
	}, nil
}

// BaseURL returns the REST base the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

// do sends one API call and decodes a 2xx JSON answer into out (if non-nil).
// A 401/403 gets exactly one retry with a freshly signed management token.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("hms: %s %s: encode request: %w", method, path, err)
		}
		body = b
	}
	token, err := c.ManagementToken(ctx)
	if err != nil {
		return fmt.Errorf("hms: %s %s: %w", method, path, err)
	}
	resp, err := c.send(ctx, method, path, query, body, token)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		// The official SDKs do the same: the cached token may have been
		// invalidated (clock skew, secret rotation), so sign a new one once.
		drain(resp)
		c.log.LogAttrs(ctx, slog.LevelWarn, "100ms rejected the management token, re-signing once",
			slog.String("method", method), slog.String("path", path), slog.Int("status", resp.StatusCode))
		token, err = c.resignManagementToken(token)
		if err != nil {
			return fmt.Errorf("hms: %s %s: %w", method, path, err)
		}
		resp, err = c.send(ctx, method, path, query, body, token)
		if err != nil {
			return err
		}
	}
	defer drain(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(method, resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return &NetworkError{Method: method, Path: resp.Request.URL.Path, Err: fmt.Errorf("read response: %w", err)}
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("hms: %s %s: response larger than %d bytes", method, resp.Request.URL.Path, maxResponseBytes)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("hms: %s %s: decode response: %w", method, resp.Request.URL.Path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, token string) (*http.Response, error) {
	// Path segments are validated ids (see validID), so no escaping is needed.
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("hms: %s %s: build request: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &NetworkError{Method: method, Path: u.Path, Err: err}
	}
	return resp, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
	_ = resp.Body.Close()
}

func (c *Client) apiError(method string, resp *http.Response) *APIError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	e := &APIError{
		Status: resp.StatusCode,
		Method: method,
		Path:   resp.Request.URL.Path,
	}
	e.Code, e.Message, e.Details = parseErrorBody(data)
	if e.Code == 0 {
		e.Code = resp.StatusCode
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	return e
}

// page is the 100ms list envelope.
type page[T any] struct {
	Limit int    `json:"limit"`
	Data  []T    `json:"data"`
	Last  string `json:"last"`
}

// doAs is c.do with the answer decoded into a new T.
func doAs[T any](ctx context.Context, c *Client, method, path string, in any) (*T, error) {
	var out T
	if err := c.do(ctx, method, path, nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// setFilter adds a list filter to q when it is set; 100ms reads a missing
// filter as "any".
func setFilter(q url.Values, name, value string) {
	if value != "" {
		q.Set(name, value)
	}
}

// setFlagFilter adds a boolean list filter to q when it is set.
func setFlagFilter(q url.Values, name string, flag *bool) {
	if flag != nil {
		q.Set(name, strconv.FormatBool(*flag))
	}
}

// listAll follows the start/last cursor until a short page or an empty cursor.
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(pageLimit))
	var all []T
	cursor := ""
	for n := 0; ; n++ {
		if n == maxPages {
			return nil, fmt.Errorf("hms: GET %s: more than %d pages, giving up", path, maxPages)
		}
		if cursor != "" {
			q.Set("start", cursor)
		}
		var p page[T]
		if err := c.do(ctx, http.MethodGet, path, q, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Data...)
		limit := p.Limit
		if limit <= 0 {
			limit = pageLimit
		}
		if len(p.Data) < limit || p.Last == "" {
			return all, nil
		}
		if p.Last == cursor {
			return nil, fmt.Errorf("hms: GET %s: cursor %q repeated, giving up", path, cursor)
		}
		cursor = p.Last
	}
}
