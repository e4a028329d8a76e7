package core

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// View renders the case as the API shows it (and the workflow's query, its
// updates' answers and its saved projection): one function, so the API's
// type never becomes the workflow's state. The customer appears by
// reference only; the API adds the rest from the database.
func (s *State) View() kyc.CaseView {
	v := kyc.CaseView{
		ID: s.CaseID, Status: s.Status, StatusReason: s.StatusReason,
		Customer: kyc.Customer{Reference: s.CustomerRef}, AgentID: s.AgentID,
		RequiredCaptures: slices.Clone(s.Required), AuditRejections: s.AuditRejections,
		Attempt: s.Attempt, Attempts: slices.Clone(s.Attempts), Participants: s.Participants,
		Captures: slices.Clone(s.Captures), Recording: s.Recording,
		Decision: cloneVerdict(s.Decision), Audit: cloneVerdict(s.Audit), Overdue: s.Overdue,
		Consent: cloneEvidence(s.Consent), Location: cloneEvidence(s.Location),
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Version: s.Log.Version,
	}
	v = EmptyLists(v)
	for i := range v.Attempts {
		v.Attempts[i].EndedAt = cloneTime(v.Attempts[i].EndedAt)
	}
	v.Participants.Agent = cloneParticipant(v.Participants.Agent)
	v.Participants.Customer = cloneParticipant(v.Participants.Customer)
	v.Recording.VerifiedAt = cloneTime(v.Recording.VerifiedAt)
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

func cloneEvidence(e *kyc.EvidenceRef) *kyc.EvidenceRef {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

func cloneVerdict(d *kyc.Verdict) *kyc.Verdict {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}

// Details renders the case as markdown for the Temporal Web UI, so that an
// operator understands a case without other tools. Ids only.
func (s *State) Details() string {
	var b strings.Builder
	writef(&b, "**Status:** `%s`", s.Status)
	if s.StatusReason != "" {
		writef(&b, " (%s)", s.StatusReason)
	}
	if s.Overdue {
		b.WriteString(" — **audit overdue**")
	}
	writef(&b, "\n\n**Customer ref:** `%s` · **Agent:** %s\n\n", s.CustomerRef, orNone(s.AgentID))
	a := s.CurrentAttempt()
	writef(&b, "**Attempt:** %d of %d · room `%s`", s.Attempt, s.Limits.MaxAttempts, a.RoomName)
	if a.RoomID != "" {
		writef(&b, " (`%s`)", a.RoomID)
	}
	writef(&b, " · started %s\n\n", stamp(a.StartedAt))
	writef(&b, "**Participants:** agent %s · customer %s\n\n",
		participantLine(s.Participants.Agent), participantLine(s.Participants.Customer))
	s.writeCaptures(&b)
	writeRecording(&b, s.Recording)
	writeVerdict(&b, "Decision", s.Decision)
	writeVerdict(&b, "Audit", s.Audit)
	if d, ok := s.NextDeadline(); ok {
		writef(&b, "**Next deadline:** %s at %s\n\n", d.What, stamp(d.At))
	}
	if len(s.Attempts) > 1 {
		b.WriteString("**Earlier attempts:**\n")
		for _, a := range s.Attempts[:len(s.Attempts)-1] {
			writef(&b, "- %d: %s (%s)\n", a.Number, a.Status, a.EndReason)
		}
	}
	return b.String()
}

func participantLine(p kyc.Participant) string {
	switch {
	case !p.Joined:
		return "not joined"
	case p.LeftAt != nil:
		return "joined " + stamp(*p.JoinedAt) + ", left " + stamp(*p.LeftAt)
	}
	return "in the call since " + stamp(*p.JoinedAt)
}

func (s *State) writeCaptures(b *strings.Builder) {
	var parts []string
	for _, k := range kyc.AllCaptureKinds {
		n := 0
		for _, cp := range s.Captures {
			if cp.Kind == k && cp.Attempt == s.Attempt {
				n++
			}
		}
		switch {
		case n > 0:
			parts = append(parts, fmt.Sprintf("%s ✓ (%d)", k, n))
		case slices.Contains(s.Required, k):
			parts = append(parts, fmt.Sprintf("%s ✗", k))
		}
	}
	writef(b, "**Captures (attempt %d):** %s\n\n", s.Attempt, strings.Join(parts, ", "))
}

func writeRecording(b *strings.Builder, r kyc.Recording) {
	writef(b, "**Recording:** %s", r.Status)
	if r.Status == kyc.RecordingVerified {
		sum := r.SHA256
		if len(sum) > 12 {
			sum = sum[:12] + "…"
		}
		writef(b, " — %d bytes, %d s, sha256 `%s`", r.Size, r.Duration, sum)
	}
	b.WriteString("\n\n")
}

func writeVerdict(b *strings.Builder, title string, d *kyc.Verdict) {
	if d == nil {
		return
	}
	writef(b, "**%s:** %s by %s at %s", title, d.Outcome, d.By, stamp(d.At))
	if d.Reason != "" {
		writef(b, " — %q", d.Reason)
	}
	b.WriteString("\n\n")
}

func orNone(s string) string {
	if s == "" {
		return "unassigned"
	}
	return "`" + s + "`"
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// writef is fmt.Fprintf for a strings.Builder, through fmt.Sprintf: the
// workflowcheck tool trusts Sprintf but not Fprintf's io.Writer path.
func writef(b *strings.Builder, format string, args ...any) {
	b.WriteString(fmt.Sprintf(format, args...))
}

// Diagram is the state machine as a Mermaid state diagram, generated from
// Transitions for the README.
func Diagram() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	for _, t := range Transitions {
		from := string(t.From)
		if from == "" {
			from = "[*]"
		}
		writef(&b, "    %s --> %s: %s\n", from, t.To, t.When)
	}
	for _, st := range kyc.AllStatuses {
		if st.Terminal() {
			writef(&b, "    %s --> [*]\n", st)
		}
	}
	return b.String()
}

// EmptyLists is v with its nil lists (required captures, attempts,
// captures) made empty, so that a view's JSON has [] and never null there;
// the API applies it to the projection's views too.
func EmptyLists(v kyc.CaseView) kyc.CaseView {
	if v.RequiredCaptures == nil {
		v.RequiredCaptures = []kyc.CaptureKind{}
	}
	if v.Attempts == nil {
		v.Attempts = []kyc.Attempt{}
	}
	if v.Captures == nil {
		v.Captures = []kyc.Capture{}
	}
	return v
}
