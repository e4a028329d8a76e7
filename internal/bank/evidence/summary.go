package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// Page geometry, millimetres (A4).
const (
	pageW, margin = 210.0, 14.0
	textW         = pageW - 2*margin
	lineH         = 5.0
)

// summary is the one-page PDF for people: who decided what, when and why,
// consent and location when the log holds them, the captures, the
// recording, and whether the log verifies. The Go fonts carry Latin, Greek
// and Cyrillic text; the manifest keeps every text exactly.
func summary(in Input, caps []capture, m *Manifest) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, margin)
	pdf.SetCreationDate(in.Now)
	pdf.SetModificationDate(in.Now)
	pdf.SetProducer("vkyc "+m.EngineVersion, true)
	pdf.SetTitle("Video-KYC evidence, case "+in.Case.ID, true)
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.AddPage()

	v := in.Case
	heading := func(s string) {
		pdf.Ln(1.5)
		pdf.SetFont("go", "B", 10.5)
		pdf.CellFormat(textW, 6, s, "B", 1, "L", false, 0, "")
		pdf.Ln(1)
	}
	row := func(label, value string) {
		pdf.SetFont("go", "B", 8.5)
		pdf.CellFormat(38, lineH, label, "", 0, "L", false, 0, "")
		pdf.SetFont("go", "", 8.5)
		pdf.MultiCell(textW-38, lineH, value, "", "L", false)
	}

	pdf.SetFont("go", "B", 15)
	pdf.CellFormat(textW, 8, "Video-KYC evidence", "", 1, "L", false, 0, "")
	pdf.SetFont("go", "", 9)
	pdf.CellFormat(textW, lineH, "Case "+v.ID, "", 1, "L", false, 0, "")

	heading("Case")
	row("Customer reference", v.Customer.Reference)
	status := string(v.Status)
	if v.StatusReason != "" {
		status += " (" + reasonText(v.StatusReason) + ")"
	}
	row("Outcome", status)
	row("Opened / closed", stamp(v.CreatedAt)+"  /  "+stamp(v.UpdatedAt))
	row("Attempts", attemptsText(v))

	heading("Decisions")
	row("Agent", verdictText(v.AgentID, v.Decision))
	auditor := ""
	if v.Audit != nil {
		auditor = v.Audit.By
	}
	row("Auditor", verdictText(auditor, v.Audit))
	for _, e := range in.Events {
		if e.Type == "case_cancelled" || e.Type == "workflow_closed" {
			row(strings.ReplaceAll(e.Type, "_", " "), fmt.Sprintf("%s by %s (%s): %s", stamp(e.At), e.ActorID, e.ActorRole, dataText(e.Data)))
		}
	}

	heading("Consent and location")
	found := false
	for _, e := range in.Events {
		if customerEvidence(e) {
			found = true
			row(strings.ReplaceAll(e.Type, "_", " "), stamp(e.At)+": "+dataText(e.Data))
		}
	}
	if !found {
		row("", "The case's log records no consent or location.")
	}

	heading("Recording")
	r := v.Recording
	recText := r.Status
	if r.Status == kyc.RecordingVerified {
		recText = fmt.Sprintf("verified %s, %d s, %s, sha256 %s", stampPtr(r.VerifiedAt), r.Duration, byteSize(r.Size), short(r.SHA256))
	}
	if m.Recording != nil && !m.Recording.Included {
		recText += "; linked from the manifest (larger than the pack carries)"
	} else if m.Recording != nil {
		recText += "; in the pack"
	}
	row("Room composite", recText)

	heading("Event log")
	chain := "does NOT verify"
	if in.Verified {
		chain = "verifies: hash chain, the workflow's witness and the case record agree"
	} else if in.Chain.Valid {
		chain = "hash chain valid; the witness or the case record disagrees (see manifest.json)"
	}
	row("Chain", chain)
	row("Events / head", fmt.Sprintf("%d events, head %d %s", len(in.Events), m.Log.Head.Seq, m.Log.Head.Hash))
	if len(m.Problems) > 0 {
		row("Problems", strings.Join(m.Problems, "; "))
	}

	heading("Captures")
	drawCaptures(pdf, caps)

	pdf.SetY(297 - margin - 2*lineH)
	pdf.SetFont("go", "", 7)
	pub := KeyID(in.Key.Public().(ed25519.PublicKey))
	pdf.MultiCell(textW, 3.5, fmt.Sprintf("Generated %s by %s with vkyc %s. manifest.json lists every file of this pack with its SHA-256 and is signed in manifest.sig (Ed25519, key %s); check it with: starter evidence verify <pack.zip>.",
		stamp(in.Now), in.GeneratedBy, m.EngineVersion, pub), "T", "L", false)

	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("evidence: summary: %w", err)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("evidence: summary: %w", err)
	}
	return buf.Bytes(), nil
}

// drawCaptures puts the images in a row of thumbnails with their kind and
// digest; formats fpdf cannot draw (WebP) get a box with a note.
func drawCaptures(pdf *fpdf.Fpdf, caps []capture) {
	if len(caps) == 0 {
		pdf.SetFont("go", "", 8.5)
		pdf.CellFormat(textW, lineH, "No captures.", "", 1, "L", false, 0, "")
		return
	}
	const perRow, gap = 4, 4.0
	w := (textW - gap*(perRow-1)) / perRow
	h := w * 0.75
	top := pdf.GetY()
	for i, c := range caps {
		col := i % perRow
		if i > 0 && col == 0 {
			top += h + 12
		}
		x := margin + float64(col)*(w+gap)
		if top+h+10 > 297-margin-3*lineH {
			pdf.SetXY(margin, top)
			pdf.SetFont("go", "", 8)
			pdf.CellFormat(textW, lineH, fmt.Sprintf("%d more captures are in the pack.", len(caps)-i), "", 1, "L", false, 0, "")
			return
		}
		typ := map[string]string{"image/jpeg": "JPG", "image/png": "PNG"}[c.c.ContentType]
		drawn := false
		if typ != "" {
			name := "capture-" + c.c.ID
			info := pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: typ}, bytes.NewReader(c.data))
			if pdf.Ok() && info != nil {
				iw, ih := info.Extent()
				dw, dh := w, w*ih/iw
				if dh > h {
					dw, dh = h*iw/ih, h
				}
				pdf.ImageOptions(name, x+(w-dw)/2, top+(h-dh)/2, dw, dh, false, fpdf.ImageOptions{ImageType: typ}, 0, "")
				drawn = pdf.Ok()
			}
			if !pdf.Ok() {
				// An image fpdf cannot read must not lose the page.
				pdf.ClearError()
			}
		}
		pdf.Rect(x, top, w, h, "D")
		if !drawn {
			pdf.SetXY(x, top+h/2-lineH/2)
			pdf.SetFont("go", "", 7)
			pdf.CellFormat(w, lineH, c.c.ContentType+": see the file", "", 0, "C", false, 0, "")
		}
		pdf.SetXY(x, top+h+0.5)
		pdf.SetFont("go", "B", 7.5)
		pdf.CellFormat(w, 3.5, fmt.Sprintf("%s (attempt %d)", c.c.Kind, c.c.Attempt), "", 2, "L", false, 0, "")
		pdf.SetFont("go", "", 6.5)
		pdf.CellFormat(w, 3, stamp(c.c.CreatedAt)+" "+c.c.CreatedBy, "", 2, "L", false, 0, "")
		pdf.CellFormat(w, 3, "sha256 "+short(c.c.SHA256), "", 2, "L", false, 0, "")
	}
	pdf.SetXY(margin, top+h+12)
}

// customerEvidence reports whether an event records the customer's
// consent or location (recorded by the customer pages; any event type
// naming consent or location counts).
func customerEvidence(e store.Event) bool {
	return strings.Contains(e.Type, "consent") || strings.Contains(e.Type, "location") || strings.Contains(e.Type, "customer_evidence")
}

func verdictText(by string, v *kyc.Verdict) string {
	if v == nil {
		if by == "" {
			return "none"
		}
		return by + ": no decision"
	}
	s := fmt.Sprintf("%s: %s at %s", v.By, v.Outcome, stamp(v.At))
	if v.Reason != "" {
		s += ": " + reasonText(v.Reason)
	}
	return s
}

func attemptsText(v kyc.CaseView) string {
	var parts []string
	for _, a := range v.Attempts {
		s := fmt.Sprintf("%d %s (%s)", a.Number, a.Status, a.RoomName)
		if a.EndReason != "" {
			s += " " + a.EndReason
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// dataText shows an event's data as key=value pairs on one line.
func dataText(data json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return string(data)
	}
	b, _ := json.Marshal(m) // sorted keys
	return reasonText(strings.NewReplacer(`","`, `", "`, `":`, `": `).Replace(string(b)))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
