package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"gorm.io/gorm"
)

// CaseFilter selects cases for ListCases. Empty fields do not filter.
type CaseFilter struct {
	Status            kyc.Status
	CustomerReference string
	AgentID           string
	Limit             int    // default DefaultListLimit, at most MaxListLimit
	Cursor            string // nextCursor of the previous page
	// Viewer, when set, keeps only the cases it may see (Viewer.Sees), in
	// the query: a page and its cursor never hold another case.
	Viewer *Viewer
}

// Page sizes for ListCases.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// ListCases returns cases newest first (created_at, then id, descending) and
// the cursor of the next page, "" on the last page. Paging is keyset based,
// so rows created while a client pages never cause duplicates or gaps in the
// older pages. Every filter has an index that also orders the rows.
func (s *Store) ListCases(ctx context.Context, f CaseFilter) ([]CaseRecord, string, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	q, err := listQuery(s.read.WithContext(ctx), f, limit)
	if err != nil {
		return nil, "", err
	}
	var rows []caseRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("store: list cases: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeCursor(last.CreatedAt, last.ID)
	}
	out := make([]CaseRecord, 0, len(rows))
	for i := range rows {
		rec, err := rows[i].record()
		if err != nil {
			return nil, "", err
		}
		out = append(out, *rec)
	}
	return out, next, nil
}

// listQuery selects one page plus one row, which tells whether a next page exists.
func listQuery(db *gorm.DB, f CaseFilter, limit int) (*gorm.DB, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, fmt.Errorf("store: list cases: status %q: %w", f.Status, ErrInvalid)
	}
	q := db.Model(&caseRow{})
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.CustomerReference != "" {
		q = q.Where("customer_reference = ?", f.CustomerReference)
	}
	if f.AgentID != "" {
		q = q.Where("agent_id = ?", f.AgentID)
	}
	if f.Viewer != nil {
		q = f.Viewer.where(q)
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		q = q.Where("(created_at, id) < (?, ?)", at, id)
	}
	return q.Order("created_at DESC, id DESC").Limit(limit + 1), nil
}

// The cursor is base64url (no padding) of "<created_at RFC3339Nano UTC>|<id>".
// Clients must treat it as opaque.
func encodeCursor(createdAt time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(createdAt.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("store: cursor is not base64url: %w", ErrBadCursor)
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" {
		return time.Time{}, "", fmt.Errorf("store: cursor lacks an id: %w", ErrBadCursor)
	}
	if kyc.CheckStorable(id) != nil {
		// PostgreSQL would refuse to compare it, which is the client's
		// mistake, not an outage.
		return time.Time{}, "", fmt.Errorf("store: cursor id is not text: %w", ErrBadCursor)
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("store: cursor time: %w", ErrBadCursor)
	}
	return dbTime(at), id, nil
}

// CountCasesByStatus counts cases per status with one aggregate query (the
// status index), reading no case row: the metrics gauges need counts, not
// the customers' data. Every status is present.
func (s *Store) CountCasesByStatus(ctx context.Context) (map[kyc.Status]int64, error) {
	var counts []struct {
		Status string
		N      int64
	}
	if err := s.read.WithContext(ctx).Model(&caseRow{}).Select("status, COUNT(*) AS n").Group("status").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("store: count cases: %w", err)
	}
	out := make(map[kyc.Status]int64, len(kyc.AllStatuses))
	for _, st := range kyc.AllStatuses {
		out[st] = 0
	}
	for _, c := range counts {
		out[kyc.Status(c.Status)] = c.N
	}
	return out, nil
}
