package api

import (
	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// mayView says whether p may read a case. The bank's backend and admins see
// every case. An agent sees the cases assigned to them and the unassigned
// ones still waiting for an agent (the queue they pick from). An auditor sees
// the cases waiting for an audit and those they audited.
func mayView(p principal, v *kyc.CaseView) bool {
	switch p.Role {
	case kyc.RoleService, kyc.RoleAdmin:
		return true
	case kyc.RoleAgent:
		return v.AgentID == p.Sub || (v.AgentID == "" && v.Status == kyc.StatusWaitingForParticipants)
	case kyc.RoleAuditor:
		return v.Status == kyc.StatusAwaitingAudit || (v.Audit != nil && v.Audit.By == p.Sub)
	}
	return false
}

// withCustomer puts the customer into a view for p. The bank's backend and
// admins get everything the bank recorded. Agents and auditors get the
// reference and the name: the agent greets the customer and compares the
// name with the identity document, the auditor checks that comparison; they
// have no use for the email address or the phone number, so data
// minimisation keeps those from them.
func withCustomer(p principal, v kyc.CaseView, c kyc.Customer) kyc.CaseView {
	switch p.Role {
	case kyc.RoleService, kyc.RoleAdmin:
		v.Customer = c
	default:
		v.Customer = kyc.Customer{Reference: c.Reference, Name: c.Name}
	}
	if v.Customer.Reference == "" {
		v.Customer.Reference = c.Reference
	}
	if v.Attempts == nil {
		v.Attempts = []kyc.Attempt{}
	}
	if v.Captures == nil {
		v.Captures = []kyc.Capture{}
	}
	if v.RequiredCaptures == nil {
		v.RequiredCaptures = []kyc.CaptureKind{}
	}
	return v
}
