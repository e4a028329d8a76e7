package workflows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// A long case continues as new with its whole state; the next run carries
// on where the last stopped: same attempt, same log numbering, signals that
// were pending are not lost, and duplicates of events seen before the
// continue-as-new are still ignored.
func TestContinueAsNewCarriesState(t *testing.T) {
	first := newHarness(t)
	first.assign()
	customer := first.join(1, "customer")
	first.signal(time.Minute, customer)
	agent := first.join(1, "agent")
	first.at(2*time.Minute, func() {
		first.env.SetContinueAsNewSuggested(true)
		first.env.SignalWorkflow(SignalHMSEvent, agent)
	})

	first.env.ExecuteWorkflow(WorkflowName, input())

	var can *workflow.ContinueAsNewError
	if err := first.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	if can.WorkflowType.Name != WorkflowName {
		t.Fatalf("continued as %s", can.WorkflowType.Name)
	}
	var next CaseInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	s := next.Resume
	if s == nil || s.Status != kyc.StatusInCall || s.AgentID != testAgent || !slices.Contains(s.Seen, customer.ID) {
		t.Fatalf("resume state: %+v", s)
	}

	second := newHarness(t)
	second.eventSeq = first.eventSeq
	second.signal(time.Minute, customer) // a redelivery from before the continue-as-new
	for i, k := range kyc.DefaultRequiredCaptures {
		second.update(2*time.Minute+time.Duration(i)*time.Second, UpdateAddCapture, string(k), capture(1, k))
	}
	second.finishApproved(3*time.Minute, 1)

	second.env.ExecuteWorkflow(WorkflowName, next)
	if err := second.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var v kyc.CaseView
	if err := second.env.GetWorkflowResult(&v); err != nil {
		t.Fatal(err)
	}
	for _, e := range second.events() {
		if strings.Contains(string(e.Data), customer.ID) {
			t.Fatalf("a join seen before the continue-as-new was applied again: %+v", e)
		}
	}
	if v.Status != kyc.StatusApproved || len(v.Attempts) != 1 || len(second.created) != 0 {
		t.Fatalf("final %s, %d attempts, rooms created again %v", v.Status, len(v.Attempts), second.created)
	}
	// Together the two runs saved one contiguous log.
	all := append(first.events(), second.events()...)
	seen := map[int64]string{}
	for _, e := range all {
		if old, dup := seen[e.Seq]; dup && old != e.Type {
			t.Fatalf("seq %d saved as %s and %s", e.Seq, old, e.Type)
		}
		seen[e.Seq] = e.Type
	}
	for seq := int64(1); seq <= v.Version; seq++ {
		if _, ok := seen[seq]; !ok {
			t.Fatalf("seq %d never saved (version %d)", seq, v.Version)
		}
	}
	if second.search["KycStatus"] != "approved" || second.search["KycCustomerRef"] != "CUST-0042" {
		t.Fatalf("search after continue-as-new: %v", second.search)
	}
}
