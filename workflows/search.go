package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
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

func searchValuesOf(s *core.State) searchValues {
	return searchValues{s.Status, s.CustomerRef, s.AgentID, s.Attempt, s.Overdue}
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

// searchValuesAtStart reads the search attributes the run started with
// (StartOptions' for a new case, the previous run's after continue-as-new):
// from revision 1 they count as published, so they are not upserted again.
func searchValuesAtStart(ctx workflow.Context) *searchValues {
	sa := workflow.GetTypedSearchAttributes(ctx)
	status, ok := sa.GetKeyword(SearchStatus)
	if !ok {
		return nil
	}
	sv := searchValues{status: kyc.Status(status)}
	sv.customerRef, _ = sa.GetKeyword(SearchCustomerRef)
	sv.agentID, _ = sa.GetKeyword(SearchAgentID)
	attempt, _ := sa.GetInt64(SearchAttempt)
	sv.attempt = int(attempt)
	sv.overdue, _ = sa.GetBool(SearchOverdue)
	return &sv
}

// published is what this run last showed to Temporal's visibility.
type published struct {
	search  *searchValues
	details string
}

// publish shows the case to operators: the search attributes when their
// values changed (each upsert is an event in the history), and the
// markdown details the Web UI shows.
func (c *kycCase) publish(ctx workflow.Context) {
	sv := searchValuesOf(c.s)
	if c.published.search == nil || *c.published.search != sv {
		if err := workflow.UpsertTypedSearchAttributes(ctx, sv.updates()...); err != nil {
			c.logger.Error("upsert search attributes failed", "error", err)
		}
		c.published.search = &sv
	}
	if d := c.s.Details(); d != c.published.details {
		workflow.SetCurrentDetails(ctx, d)
		c.published.details = d
	}
}

// inputName names an input for a log line.
func inputName(in core.Input) string { return fmt.Sprintf("%T", in) }
