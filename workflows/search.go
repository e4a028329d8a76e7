package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// Search attributes of a case. They must be registered on the namespace
// (e.g. `temporal operator search-attribute create --name KycStatus --type
// Keyword`, or `--search-attribute KycStatus=Keyword` on the dev server).
var (
	SearchStatus      = temporal.NewSearchAttributeKeyKeyword("KycStatus")
	SearchCustomerRef = temporal.NewSearchAttributeKeyKeyword("KycCustomerRef")
	SearchAgentID     = temporal.NewSearchAttributeKeyKeyword("KycAgentId")
	SearchAttempt     = temporal.NewSearchAttributeKeyInt64("KycAttempt")
	SearchOverdue     = temporal.NewSearchAttributeKeyBool("KycOverdue")
)

// SearchAttributeKeys lists every key above, for registering them.
func SearchAttributeKeys() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{SearchStatus, SearchCustomerRef, SearchAgentID, SearchAttempt, SearchOverdue}
}

// searchValues is what the search attributes show.
type searchValues struct {
	status      kyc.Status
	customerRef string
	agentID     string
	attempt     int
	overdue     bool
}

func searchValuesOf(v *kyc.CaseView) searchValues {
	return searchValues{v.Status, v.Customer.Reference, v.AgentID, v.Attempt, v.Overdue}
}

func (s searchValues) updates() []temporal.SearchAttributeUpdate {
	u := []temporal.SearchAttributeUpdate{
		SearchStatus.ValueSet(string(s.status)),
		SearchCustomerRef.ValueSet(s.customerRef),
		SearchAttempt.ValueSet(int64(s.attempt)),
		SearchOverdue.ValueSet(s.overdue),
	}
	if s.agentID != "" {
		u = append(u, SearchAgentID.ValueSet(s.agentID))
	}
	return u
}

// publishedState is what this run last showed to Temporal's visibility.
type publishedState struct {
	version int64
	search  *searchValues
	details string
}

// afterChange wakes the main loop and, if the view changed, refreshes the
// search attributes (only when their values changed, which keeps history
// small) and the current details shown in the Web UI.
func (c *kycCase) afterChange(ctx workflow.Context) {
	c.tick++
	v := &c.s.View
	if c.published.search != nil && c.published.version == v.Version {
		return
	}
	c.published.version = v.Version
	sv := searchValuesOf(v)
	if c.published.search == nil || *c.published.search != sv {
		if err := workflow.UpsertTypedSearchAttributes(ctx, sv.updates()...); err != nil {
			c.logger.Error("upsert search attributes failed", "error", err)
		}
		c.published.search = &sv
	}
	if d := c.details(); d != c.published.details {
		workflow.SetCurrentDetails(ctx, d)
		c.published.details = d
	}
}
