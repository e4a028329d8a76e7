package store

import (
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"gorm.io/gorm"
)

// Viewer is who reads cases, and decides which ones they may see. The rule
// has two forms that must agree (a test checks they do): Sees for one case
// (the API's reads), where for lists (ListCases with CaseFilter.Viewer),
// so that a page, and the cursor built from its last row, hold only cases
// the viewer may see.
//
// The bank's backend and admins see every case. An agent sees the cases
// assigned to them and the unassigned ones still waiting for an agent (the
// queue they pick from). An auditor sees the cases waiting for an audit and
// those they audited.
type Viewer struct {
	Role kyc.Role
	Sub  string
}

// Sees reports whether the viewer may read the case v.
func (w Viewer) Sees(v *kyc.CaseView) bool {
	switch w.Role {
	case kyc.RoleService, kyc.RoleAdmin:
		return true
	case kyc.RoleAgent:
		return v.AgentID == w.Sub || (v.AgentID == "" && v.Status == kyc.StatusWaitingForParticipants)
	case kyc.RoleAuditor:
		return v.Status == kyc.StatusAwaitingAudit || (v.Audit != nil && v.Audit.By == w.Sub)
	}
	return false
}

// where narrows a case query to the cases the viewer sees (the columns
// agent_id, status and audited_by are the projection's, saved with it).
func (w Viewer) where(q *gorm.DB) *gorm.DB {
	switch w.Role {
	case kyc.RoleService, kyc.RoleAdmin:
		return q
	case kyc.RoleAgent:
		return q.Where("(agent_id = ? OR (agent_id = '' AND status = ?))", w.Sub, string(kyc.StatusWaitingForParticipants))
	case kyc.RoleAuditor:
		return q.Where("(status = ? OR audited_by = ?)", string(kyc.StatusAwaitingAudit), w.Sub)
	}
	return q.Where("1 = 0")
}
