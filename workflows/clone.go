package workflows

import (
	"slices"
	"time"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// cloneView deep-copies a view, so that what a query, an update or a save
// returns can never change under its reader as the state moves on.
func cloneView(v kyc.CaseView) kyc.CaseView {
	v.RequiredCaptures = slices.Clone(v.RequiredCaptures)
	v.Attempts = slices.Clone(v.Attempts)
	for i := range v.Attempts {
		v.Attempts[i].EndedAt = cloneTime(v.Attempts[i].EndedAt)
	}
	v.Captures = slices.Clone(v.Captures)
	v.Participants.Agent = cloneParticipant(v.Participants.Agent)
	v.Participants.Customer = cloneParticipant(v.Participants.Customer)
	v.Recording.VerifiedAt = cloneTime(v.Recording.VerifiedAt)
	v.Decision = cloneVerdict(v.Decision)
	v.Audit = cloneVerdict(v.Audit)
	return v
}

func cloneParticipant(p kyc.Participant) kyc.Participant {
	p.JoinedAt, p.LeftAt = cloneTime(p.JoinedAt), cloneTime(p.LeftAt)
	return p
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func cloneVerdict(d *kyc.Verdict) *kyc.Verdict {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}
