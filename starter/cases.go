package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// apiTarget is where the case commands send requests, and as whom.
type apiTarget struct {
	base, token *string
}

// apiHTTP sends the commands' requests to the API: a command waits at most
// this long for an answer.
var apiHTTP = &http.Client{Timeout: 30 * time.Second}

func addAPIFlags(fs *flag.FlagSet) *apiTarget {
	return &apiTarget{
		base:  addAPIBaseFlag(fs),
		token: fs.String("token", "", "bearer token (default: a service token minted from API_JWT_SECRET)"),
	}
}

// addAPIBaseFlag declares --api, the API's base URL, for every command that
// calls the API.
func addAPIBaseFlag(fs *flag.FlagSet) *string {
	return fs.String("api", "", "base URL of the API (default PUBLIC_BASE_URL)")
}

// starterSubject is who the API sees behind a minted service token.
const starterSubject = "starter-cli"

// resolve fills the defaults from the configuration. A minted token lives
// for one command only.
func (t *apiTarget) resolve() error {
	if *t.base != "" && *t.token != "" {
		return nil
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if *t.base == "" {
		*t.base = cfg.PublicBaseURL
	}
	if *t.token == "" {
		tok, err := auth.Mint([]byte(cfg.AuthSecret), starterSubject, kyc.RoleService, 5*time.Minute, time.Now())
		if err != nil {
			return fmt.Errorf("mint a service token: %w", err)
		}
		*t.token = tok
	}
	return nil
}

func (t *apiTarget) do(ctx context.Context, r apiclient.Request, out any) (int, error) {
	r.URL = strings.TrimRight(*t.base, "/") + r.URL
	r.Token = *t.token
	return apiclient.Do(ctx, apiHTTP, r, out)
}

func (c *cli) caseCreate(ctx context.Context, args []string) error {
	fs := c.newFlags("case create", "--ref REF [flags]")
	ref := fs.String("ref", "", "the bank's customer reference (required)")
	name := fs.String("name", "", "customer's name")
	email := fs.String("email", "", "customer's e-mail address")
	phone := fs.String("phone", "", "customer's phone number")
	captures := fs.String("captures", "", "comma-separated required captures (default: the API's, "+joinKinds(kyc.DefaultRequiredCaptures)+")")
	auditRejections := fs.Bool("audit-rejections", true, "whether the agent's rejections go to an auditor too")
	key := fs.String("idempotency-key", "", "Idempotency-Key header: a retry with the same key returns the same case")
	target := addAPIFlags(fs)
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*ref) == "" {
		return usagef("case create: --ref is required")
	}
	body := map[string]any{
		"customer": kyc.Customer{Reference: *ref, Name: *name, Email: *email, Phone: *phone},
	}
	if *captures != "" {
		kinds, err := parseKinds(*captures)
		if err != nil {
			return usagef("case create: --captures: %v", err)
		}
		body["required_captures"] = kinds
	}
	if flagGiven(fs, "audit-rejections") {
		body["audit_rejections"] = *auditRejections
	}
	if err := target.resolve(); err != nil {
		return err
	}
	req := apiclient.Request{Method: http.MethodPost, URL: "/v1/cases", JSON: body, Header: map[string]string{}}
	if *key != "" {
		req.Header["Idempotency-Key"] = *key
	}
	var view json.RawMessage
	status, err := target.do(ctx, req, &view)
	if err != nil {
		return fmt.Errorf("case create: %w", err)
	}
	if status == http.StatusOK {
		fmt.Fprintln(c.errOut, "an earlier request with this idempotency key created the case")
	}
	return c.printJSON(view)
}

func (c *cli) caseShow(ctx context.Context, args []string) error {
	fs := c.newFlags("case show", "ID [flags]")
	target := addAPIFlags(fs)
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usagef("case show: want exactly one case id, got %d arguments", len(positional))
	}
	if err := target.resolve(); err != nil {
		return err
	}
	var view json.RawMessage
	req := apiclient.Request{Method: http.MethodGet, URL: "/v1/cases/" + url.PathEscape(positional[0])}
	if _, err := target.do(ctx, req, &view); err != nil {
		return fmt.Errorf("case show: %w", err)
	}
	return c.printJSON(view)
}

type casePage struct {
	Cases      []kyc.CaseView `json:"cases"`
	NextCursor string         `json:"next_cursor"`
}

func (c *cli) caseList(ctx context.Context, args []string) error {
	fs := c.newFlags("case list", "[flags]")
	status := fs.String("status", "", "only cases in this status")
	ref := fs.String("ref", "", "only cases of this customer reference")
	agent := fs.String("agent", "", "only cases assigned to this agent id")
	limit := fs.Int("limit", 0, "page size (the API's default when 0; at most 100)")
	cursor := fs.String("cursor", "", "next_cursor of the previous page")
	asJSON := fs.Bool("json", false, "print the API's JSON answer instead of a table")
	target := addAPIFlags(fs)
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *status != "" && !kyc.Status(*status).Valid() {
		return usagef("case list: --status %q is not a case status (%s)", *status, joinStatuses(kyc.AllStatuses))
	}
	if *limit < 0 || *limit > 100 {
		return usagef("case list: --limit %d is outside 1..100", *limit)
	}
	q := url.Values{}
	for k, v := range map[string]string{"status": *status, "customer_reference": *ref, "agent_id": *agent, "cursor": *cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *limit > 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	path := "/v1/cases"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	if err := target.resolve(); err != nil {
		return err
	}
	var raw json.RawMessage
	if _, err := target.do(ctx, apiclient.Request{Method: http.MethodGet, URL: path}, &raw); err != nil {
		return fmt.Errorf("case list: %w", err)
	}
	if *asJSON {
		return c.printJSON(raw)
	}
	var page casePage
	if err := json.Unmarshal(raw, &page); err != nil {
		return fmt.Errorf("case list: decode answer: %w", err)
	}
	return c.printCaseTable(page)
}

func (c *cli) printCaseTable(page casePage) error {
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCUSTOMER REF\tAGENT\tATTEMPT\tCREATED")
	for _, v := range page.Cases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", v.ID, v.Status, v.Customer.Reference,
			orDash(v.AgentID), v.Attempt, v.CreatedAt.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print cases: %w", err)
	}
	if page.NextCursor != "" {
		fmt.Fprintf(c.errOut, "more cases: add --cursor %s\n", page.NextCursor)
	}
	return nil
}

// printJSON indents the API's answer as it is, keeping its field order.
func (c *cli) printJSON(raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("print answer: %w", err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(c.out)
	return err
}

// parseKinds reads "face,id_front"; duplicates are refused because they
// usually mean a typo replaced the kind that was meant.
func parseKinds(s string) ([]kyc.CaptureKind, error) {
	var kinds []kyc.CaptureKind
	seen := map[kyc.CaptureKind]bool{}
	for _, part := range strings.Split(s, ",") {
		k := kyc.CaptureKind(strings.TrimSpace(part))
		switch {
		case !k.Valid():
			return nil, fmt.Errorf("%q is not a capture kind (%s)", k, joinKinds(kyc.AllCaptureKinds))
		case seen[k]:
			return nil, fmt.Errorf("%q is listed twice", k)
		}
		seen[k] = true
		kinds = append(kinds, k)
	}
	return kinds, nil
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func joinKinds(kinds []kyc.CaptureKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func joinStatuses(statuses []kyc.Status) string {
	s := make([]string, len(statuses))
	for i, st := range statuses {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
