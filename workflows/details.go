package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// details renders the case as Temporal markdown for the Web UI, so that an
// operator understands a case without other tools. No PII: ids only.
func (c *kycCase) details() string {
	v := &c.s.View
	var b strings.Builder
	writef(&b, "**Status:** `%s`", v.Status)
	if v.StatusReason != "" {
		writef(&b, " (%s)", v.StatusReason)
	}
	if v.Overdue {
		b.WriteString(" — **audit overdue**")
	}
	writef(&b, "\n\n**Customer ref:** `%s` · **Agent:** %s\n\n", v.Customer.Reference, orNone(v.AgentID))
	c.writeAttempt(&b)
	c.writeCaptures(&b)
	writeRecording(&b, v.Recording)
	writeVerdict(&b, "Decision", v.Decision)
	writeVerdict(&b, "Audit", v.Audit)
	if d, ok := c.nextDeadline(); ok {
		writef(&b, "**Next deadline:** %s at %s\n\n", d.what, stamp(d.at))
	}
	writeHistory(&b, v.Attempts)
	return b.String()
}

func (c *kycCase) writeAttempt(b *strings.Builder) {
	v := &c.s.View
	a := c.s.attempt()
	writef(b, "**Attempt:** %d of %d · room `%s`", v.Attempt, c.in.Timeouts.MaxAttempts, a.RoomName)
	if a.RoomID != "" {
		writef(b, " (`%s`)", a.RoomID)
	}
	writef(b, " · started %s\n\n", stamp(a.StartedAt))
	writef(b, "**Participants:** agent %s · customer %s\n\n",
		participantLine(v.Participants.Agent), participantLine(v.Participants.Customer))
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

func (c *kycCase) writeCaptures(b *strings.Builder) {
	v := &c.s.View
	var parts []string
	for _, k := range kyc.AllCaptureKinds {
		n := 0
		for _, cp := range v.Captures {
			if cp.Kind == k && cp.Attempt == v.Attempt {
				n++
			}
		}
		required := slices.Contains(v.RequiredCaptures, k)
		switch {
		case n > 0:
			parts = append(parts, fmt.Sprintf("%s ✓ (%d)", k, n))
		case required:
			parts = append(parts, fmt.Sprintf("%s ✗", k))
		}
	}
	writef(b, "**Captures (attempt %d):** %s\n\n", v.Attempt, strings.Join(parts, ", "))
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

func writeHistory(b *strings.Builder, attempts []kyc.Attempt) {
	if len(attempts) < 2 {
		return
	}
	b.WriteString("**Earlier attempts:**\n")
	for _, a := range attempts[:len(attempts)-1] {
		writef(b, "- %d: %s (%s)\n", a.Number, a.Status, a.EndReason)
	}
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
