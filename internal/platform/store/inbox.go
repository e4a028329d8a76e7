package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// InboxState is where a webhook event is in its dispatch.
type InboxState string

const (
	InboxPending InboxState = "pending" // received, not yet delivered to its workflow
	InboxDone    InboxState = "done"    // delivered
	InboxIgnored InboxState = "ignored" // not ours (unknown room, finished case); kept for audit
	InboxFailed  InboxState = "failed"  // given up on; needs an operator
)

// AllInboxStates lists every inbox state.
var AllInboxStates = []InboxState{InboxPending, InboxDone, InboxIgnored, InboxFailed}

// Valid reports whether s is a known state.
func (s InboxState) Valid() bool {
	for _, v := range AllInboxStates {
		if v == s {
			return true
		}
	}
	return false
}

// InboxRow is one received webhook event. BodyHash (hex SHA-256 of Body) is
// computed by InboxInsert.
type InboxRow struct {
	EventID    string
	Type       string
	RoomName   string
	CaseID     string // "" when the room is not one of ours
	Body       []byte
	State      InboxState
	Attempts   int // failed dispatch tries
	LastError  string
	ReceivedAt time.Time
	UpdatedAt  time.Time
	BodyHash   string
}

// inListMax is how many values one IN (...) list takes, well under any
// driver's parameter limit.
const inListMax = 500

// maxEventIDLen bounds an inbox event id: 100ms's are UUIDs, and a btree
// index entry cannot exceed about 2.7 KB.
const maxEventIDLen = 512

// InboxInsert stores a received webhook event keyed by its event id, in the
// state given (pending when empty). A redelivery of a stored event returns
// (false, nil); the same event id with a different body returns
// ErrIdempotencyConflict and stores nothing, since 100ms never changes an
// event and a different body means a forged or corrupted replay.
func (s *Store) InboxInsert(ctx context.Context, row InboxRow) (bool, error) {
	if row.EventID == "" || row.Type == "" {
		return false, fmt.Errorf("store: inbox insert: event id and type are required: %w", ErrInvalid)
	}
	if len(row.EventID) > maxEventIDLen {
		return false, fmt.Errorf("store: inbox insert: event id of %d bytes (at most %d): %w", len(row.EventID), maxEventIDLen, ErrInvalid)
	}
	for _, v := range []string{row.EventID, row.Type, row.RoomName, row.CaseID} {
		if strings.ContainsRune(v, 0) {
			// PostgreSQL text cannot hold NUL; refusing it here keeps it
			// from failing the events written in the same statement.
			return false, fmt.Errorf("store: inbox insert: NUL in the event id, type or room name: %w", ErrInvalid)
		}
	}
	state := row.State
	if state == "" {
		state = InboxPending
	}
	if !state.Valid() {
		return false, fmt.Errorf("store: inbox insert %s: state %q: %w", row.EventID, state, ErrInvalid)
	}
	sum := sha256.Sum256(row.Body)
	now := s.now()
	received := now
	if !row.ReceivedAt.IsZero() {
		received = dbTime(row.ReceivedAt)
	}
	body := row.Body
	if body == nil {
		body = []byte{}
	}
	r := inboxRow{
		EventID: row.EventID, Type: row.Type, RoomName: row.RoomName, CaseID: row.CaseID,
		Body: body, BodyHash: hex.EncodeToString(sum[:]), State: string(state),
		Attempts: row.Attempts, LastError: row.LastError, ReceivedAt: received, UpdatedAt: now,
	}
	b := s.batcher()
	if b == nil {
		return false, errStoreClosed
	}
	return b.insert(ctx, r) // written together with concurrent inserts: inbox_batch.go
}

// InboxPending returns up to limit pending rows, oldest first (limit <= 0
// means 100).
func (s *Store) InboxPending(ctx context.Context, limit int) ([]InboxRow, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []inboxRow
	err := s.db.WithContext(ctx).Where("state = ?", string(InboxPending)).
		Order("received_at, event_id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: inbox pending: %w", err)
	}
	out := make([]InboxRow, len(rows))
	for i, r := range rows {
		out[i] = r.public()
	}
	return out, nil
}

// InboxMark moves a row to state and records detail (why it was ignored or
// failed; "" clears it). Marking a row failed counts as one more attempt.
// ErrNotFound if no row has eventID.
func (s *Store) InboxMark(ctx context.Context, eventID string, state InboxState, detail string) error {
	if !state.Valid() {
		return fmt.Errorf("store: inbox mark %s: state %q: %w", eventID, state, ErrInvalid)
	}
	return s.inboxUpdate(ctx, "mark", eventID, markColumns(state, detail, s.now()))
}

// InboxMarkMany settles many rows with one outcome in one statement (see
// InboxMark); the dispatcher writes a round's outcomes this way rather than
// one UPDATE per event. Ids of rows that do not exist are skipped.
func (s *Store) InboxMarkMany(ctx context.Context, state InboxState, detail string, eventIDs []string) error {
	if !state.Valid() {
		return fmt.Errorf("store: inbox mark: state %q: %w", state, ErrInvalid)
	}
	for part := range slices.Chunk(eventIDs, inListMax) {
		err := s.db.WithContext(ctx).Model(&inboxRow{}).Where("event_id IN ?", part).
			UpdateColumns(markColumns(state, detail, s.now())).Error
		if err != nil {
			return fmt.Errorf("store: inbox mark %d rows %s: %w", len(part), state, err)
		}
	}
	return nil
}

func markColumns(state InboxState, detail string, now time.Time) map[string]any {
	updates := map[string]any{"state": string(state), "last_error": detail, "updated_at": now}
	if state == InboxFailed {
		updates["attempts"] = gorm.Expr("attempts + 1")
	}
	return updates
}

// InboxRetry records a failed dispatch try of a row that stays pending.
func (s *Store) InboxRetry(ctx context.Context, eventID, errText string) error {
	return s.inboxUpdate(ctx, "retry", eventID, map[string]any{
		"attempts": gorm.Expr("attempts + 1"), "last_error": errText, "updated_at": s.now(),
	})
}

func (s *Store) inboxUpdate(ctx context.Context, op, eventID string, updates map[string]any) error {
	res := s.db.WithContext(ctx).Model(&inboxRow{}).Where("event_id = ?", eventID).UpdateColumns(updates)
	if res.Error != nil {
		return fmt.Errorf("store: inbox %s %s: %w", op, eventID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: inbox %s %s: %w", op, eventID, ErrNotFound)
	}
	return nil
}

// InboxGet returns one inbox row, or ErrNotFound.
func (s *Store) InboxGet(ctx context.Context, eventID string) (*InboxRow, error) {
	var r inboxRow
	if err := take(s.db.WithContext(ctx).Where("event_id = ?", eventID), &r); err != nil {
		return nil, fmt.Errorf("store: inbox %s: %w", eventID, err)
	}
	row := r.public()
	return &row, nil
}

func (r inboxRow) public() InboxRow {
	return InboxRow{
		EventID: r.EventID, Type: r.Type, RoomName: r.RoomName, CaseID: r.CaseID, Body: r.Body,
		State: InboxState(r.State), Attempts: r.Attempts, LastError: r.LastError,
		ReceivedAt: r.ReceivedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), BodyHash: r.BodyHash,
	}
}

// InboxStats counts rows per state; every state is present.
func (s *Store) InboxStats(ctx context.Context) (map[InboxState]int64, error) {
	var counts []struct {
		State string
		N     int64
	}
	err := s.read.WithContext(ctx).Model(&inboxRow{}).Select("state, COUNT(*) AS n").Group("state").Scan(&counts).Error
	if err != nil {
		return nil, fmt.Errorf("store: inbox stats: %w", err)
	}
	out := make(map[InboxState]int64, len(AllInboxStates))
	for _, st := range AllInboxStates {
		out[st] = 0
	}
	for _, c := range counts {
		out[InboxState(c.State)] = c.N
	}
	return out, nil
}
