package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

func TestTimeoutsWithDefaults(t *testing.T) {
	got := Timeouts{DecisionWindow: 5 * time.Minute, MaxAttempts: 5}.WithDefaults()
	want := DefaultTimeouts()
	want.DecisionWindow, want.MaxAttempts = 5*time.Minute, 5
	if got != want {
		t.Fatalf("got %+v want %+v", got, want)
	}
	if d := DefaultTimeouts(); d.JoinTimeout != 30*time.Minute || d.CaseTTL != 72*time.Hour || d.MaxAttempts != 3 ||
		d.AuditSLA != 24*time.Hour || d.RecordingGrace != 10*time.Minute || d.MaxCallLength != 30*time.Minute {
		t.Fatalf("defaults %+v", d)
	}
}

func TestCaseInputValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*CaseInput)
		errHas string
	}{
		{"valid", func(*CaseInput) {}, ""},
		{"no case id", func(in *CaseInput) { in.CaseID = "" }, "case id"},
		{"case id with slash", func(in *CaseInput) { in.CaseID = "a/b" }, "case id"},
		{"no customer", func(in *CaseInput) { in.CustomerRef = "" }, "customer reference"},
		{"bad kind", func(in *CaseInput) { in.RequiredCaptures = []kyc.CaptureKind{"selfie"} }, "selfie"},
		{"negative", func(in *CaseInput) { in.Timeouts.AuditSLA = -time.Second }, "audit_sla"},
		{"too many attempts", func(in *CaseInput) { in.Timeouts.MaxAttempts = 11 }, "max_attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := input()
			tc.modify(&in)
			err := in.Validate()
			if tc.errHas == "" && err != nil || tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.errHas)
			}
		})
	}
}

func TestRequiredCapturesNormalized(t *testing.T) {
	in := input()
	in.RequiredCaptures = []kyc.CaptureKind{kyc.CapturePAN, kyc.CaptureFace, kyc.CapturePAN}
	if got := in.normalized().RequiredCaptures; !slices.Equal(got, []kyc.CaptureKind{kyc.CaptureFace, kyc.CapturePAN}) {
		t.Fatalf("got %v", got)
	}
	in.RequiredCaptures = nil
	if got := in.normalized().RequiredCaptures; !slices.Equal(got, kyc.DefaultRequiredCaptures) {
		t.Fatalf("default %v", got)
	}
}

func TestInvalidInputFailsTheWorkflow(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.CustomerRef = ""
	h.env.ExecuteWorkflow(WorkflowName, in)
	if err := h.env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "customer reference") {
		t.Fatalf("got %v", err)
	}
	if len(h.created) != 0 || len(h.saves) != 0 {
		t.Fatalf("invalid input had side effects: rooms %v saves %d", h.created, len(h.saves))
	}
}

func TestStartOptions(t *testing.T) {
	o := StartOptions(input())
	if o.ID != "kyc-case-"+testCase || o.TaskQueue != TaskQueue {
		t.Fatalf("id %s queue %s", o.ID, o.TaskQueue)
	}
	if o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE ||
		o.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
		t.Fatalf("policies %v %v", o.WorkflowIDReusePolicy, o.WorkflowIDConflictPolicy)
	}
	if !strings.Contains(o.StaticSummary, testCase) || !strings.Contains(o.StaticDetails, "face, id_front, id_back") {
		t.Fatalf("summary %q details %q", o.StaticSummary, o.StaticDetails)
	}
	sa := o.TypedSearchAttributes
	if s, _ := sa.GetKeyword(SearchStatus); s != string(kyc.StatusWaitingForParticipants) {
		t.Fatalf("status attribute %q", s)
	}
	if r, _ := sa.GetKeyword(SearchCustomerRef); r != "CUST-0042" {
		t.Fatalf("customer attribute %q", r)
	}
	if n, _ := sa.GetInt64(SearchAttempt); n != 1 {
		t.Fatalf("attempt attribute %d", n)
	}
}

func TestSearchAttributeKeys(t *testing.T) {
	var names []string
	for _, k := range SearchAttributeKeys() {
		names = append(names, k.GetName())
	}
	if !slices.Equal(names, []string{"KycStatus", "KycCustomerRef", "KycAgentId", "KycAttempt", "KycOverdue"}) {
		t.Fatalf("keys %v", names)
	}
}
