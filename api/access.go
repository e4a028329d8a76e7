package api

import (
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// mayView says whether p may read a case; the rule is store.Viewer's, which
// lists apply in SQL.
func mayView(p principal, v *kyc.CaseView) bool { return p.viewer().Sees(v) }

func (p principal) viewer() store.Viewer { return store.Viewer{Role: p.Role, Sub: p.Sub} }

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
	return core.EmptyLists(v)
}
