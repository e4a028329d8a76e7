package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// StartOptions are the options the API starts a case with. A retried create
// with the same case id must not start a second workflow: while the case
// runs the existing run is returned (conflict policy UseExisting), and once
// it has finished the id can never be reused (reuse policy RejectDuplicate).
func StartOptions(in CaseInput) client.StartWorkflowOptions {
	t := in.Timeouts.WithDefaults()
	return client.StartWorkflowOptions{
		ID:                       kyc.WorkflowID(in.CaseID),
		TaskQueue:                TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            fmt.Sprintf("vKYC case `%s` · customer ref `%s`", in.CaseID, in.CustomerRef),
		StaticDetails: fmt.Sprintf("**Case:** `%s`\n\n**Customer ref:** `%s`\n\n**Created by:** %s\n\n"+
			"**Required captures:** %s\n\n**Audit of rejections:** %t\n\n"+
			"**Limits:** join %s · call %s · decision %s · recording grace %s · audit SLA %s · TTL %s · %d attempts",
			in.CaseID, in.CustomerRef, orNone(in.CreatedBy), core.JoinKinds(in.normalized().RequiredCaptures),
			in.AuditRejections, t.JoinTimeout, t.MaxCallLength, t.DecisionWindow, t.RecordingGrace,
			t.AuditSLA, t.CaseTTL, t.MaxAttempts),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchStatus.ValueSet(string(kyc.StatusWaitingForParticipants)),
			SearchCustomerRef.ValueSet(in.CustomerRef),
			SearchAttempt.ValueSet(1),
			SearchOverdue.ValueSet(false),
		),
	}
}

// WorkflowRegistry is the part of a Temporal worker Register needs.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers the case workflow under its stable name.
func Register(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(KYCCase, workflow.RegisterOptions{Name: WorkflowName})
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return "`" + s + "`"
}
