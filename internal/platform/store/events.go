package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// NewEvent is an event the workflow accepted. The workflow chooses Seq
// deterministically, which is what makes AppendEvents safe to retry.
type NewEvent struct {
	chain.Event
	// Hash, when set, is the chain hash the writer computed for the event;
	// a log whose chain gives another (rewritten before this append) is
	// refused with ErrConflict rather than extended.
	Hash string
	// RunID is the workflow run that saves the event.
	RunID string
}

// Event is a stored event with its place in the hash chain. At is UTC at
// microsecond precision and Data is canonical JSON (see chain.Canonical).
type Event struct {
	chain.Event
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	RunID    string `json:"run_id,omitempty"`
}

// AppendEvents appends events of one case, given in Seq order with contiguous
// sequence numbers. Events already stored with the same content are skipped,
// so a retried batch (or a batch overlapping the stored tail) is a no-op;
// stored events with other content fail the whole batch with ErrConflict, and
// a batch that starts beyond the next sequence number fails with
// ErrSequenceGap. The case row is locked for the transaction, so concurrent
// appenders of one case run one after the other and never fork the chain.
// The case must exist (ErrNotFound). With webhook endpoints configured
// (WithWebhookEndpoints), the outbound deliveries of the appended events are
// written in the same transaction (see writeOutbox).
func (s *Store) AppendEvents(ctx context.Context, events []NewEvent) error {
	if len(events) == 0 {
		return nil
	}
	batch, err := prepareEvents(events)
	if err != nil {
		return err
	}
	return appendError(batch, s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.appendEvents(tx, batch)
	}))
}

// SaveCase appends a case's events (as AppendEvents) and stores its
// projection (as SaveProjection) in one transaction, so that the log and
// the projection never tell different stories. A missing case row is
// created from the view first.
func (s *Store) SaveCase(ctx context.Context, events []NewEvent, view kyc.CaseView) error {
	batch, err := prepareEvents(events)
	if err != nil {
		return err
	}
	p, err := newProjection(view)
	if err != nil {
		return err
	}
	var phase string
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		phase = "append"
		err := s.appendEvents(tx, batch)
		if errors.Is(err, ErrNotFound) {
			// The API creates the case row before starting the workflow;
			// if it is missing, the projection creates it (without PII) so
			// that the log has a case to hang on.
			phase = "project"
			if err := p.save(tx); err != nil {
				return err
			}
			phase = "append"
			err = s.appendEvents(tx, batch)
		}
		if err != nil {
			return err
		}
		phase = "project"
		return p.save(tx)
	})
	if err != nil && phase == "project" {
		return p.error(err)
	}
	return appendError(batch, err)
}

// appendError says which events a failed append was about.
func appendError(batch []NewEvent, err error) error {
	if err == nil || len(batch) == 0 {
		return err
	}
	return fmt.Errorf("store: append events %d..%d of case %s: %w", batch[0].Seq, batch[len(batch)-1].Seq, batch[0].CaseID, refused(err))
}

// appendEvents is AppendEvents inside the caller's transaction.
func (s *Store) appendEvents(tx *gorm.DB, batch []NewEvent) error {
	if len(batch) == 0 {
		return nil
	}
	caseID := batch[0].CaseID
	first, last := batch[0].Seq, batch[len(batch)-1].Seq
	headSeq, headHash, err := s.lockEventHead(tx, caseID)
	if err != nil {
		return err
	}
	if first > headSeq+1 {
		return fmt.Errorf("batch starts at seq %d but the log ends at %d: %w", first, headSeq, ErrSequenceGap)
	}
	var stored []eventRow
	if first <= headSeq {
		err := tx.Where("case_id = ? AND seq >= ? AND seq <= ?", caseID, first, min(last, headSeq)).
			Order("seq").Find(&stored).Error
		if err != nil {
			return err
		}
		if want := min(last, headSeq) - first + 1; int64(len(stored)) != want {
			return fmt.Errorf("log of case %s has %d of events %d..%d; run VerifyChain", caseID, len(stored), first, first+want-1)
		}
	}
	prev := headHash
	if headSeq == 0 {
		prev = chain.Genesis
	}
	var fresh []eventRow
	now := s.now()
	for _, e := range batch {
		canonical := chain.WithData(e.Event, []byte(e.Data))
		if e.Seq <= headSeq {
			old := stored[e.Seq-first]
			if string(chain.WithData(old.chainEvent(), []byte(old.Data))) != string(canonical) {
				return fmt.Errorf("event %d differs from the stored one: %w", e.Seq, ErrConflict)
			}
			if e.Hash != "" && old.Hash != e.Hash {
				return fmt.Errorf("event %d is stored with hash %s, the writer's chain gives %s: %w", e.Seq, old.Hash, e.Hash, ErrConflict)
			}
			continue
		}
		hash := chain.Link(prev, canonical)
		if e.Hash != "" && hash != e.Hash {
			return fmt.Errorf("event %d would get hash %s, the writer's chain gives %s (the stored log before it differs from the writer's): %w",
				e.Seq, hash, e.Hash, ErrConflict)
		}
		fresh = append(fresh, eventRow{
			CaseID: e.CaseID, Seq: e.Seq, Type: e.Type, ActorID: e.ActorID, ActorRole: e.ActorRole,
			At: e.At, Data: string(e.Data), PrevHash: prev, Hash: hash, RecordedAt: now, RunID: e.RunID,
		})
		prev = hash
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := tx.CreateInBatches(&fresh, 500).Error; err != nil {
		return err
	}
	if err := s.writeOutbox(tx, caseID, fresh); err != nil {
		return err
	}
	tail := fresh[len(fresh)-1]
	// Raw SQL: the head columns are read-only in the gorm model so that
	// no other write can move them.
	return tx.Exec("UPDATE cases SET events_head_seq = ?, events_head_hash = ? WHERE id = ?", tail.Seq, tail.Hash, caseID).Error
}

// prepareEvents validates a batch and returns it with canonical data and
// times at storage precision.
func prepareEvents(events []NewEvent) ([]NewEvent, error) {
	out := make([]NewEvent, len(events))
	for i, e := range events {
		switch {
		case e.CaseID == "" || e.CaseID != events[0].CaseID:
			return nil, fmt.Errorf("store: append events: every event needs the same case id: %w", ErrInvalid)
		case e.Type == "":
			return nil, fmt.Errorf("store: append events: event %d has no type: %w", e.Seq, ErrInvalid)
		case e.At.IsZero():
			return nil, fmt.Errorf("store: append events: event %d has no time: %w", e.Seq, ErrInvalid)
		case i == 0 && e.Seq < 1:
			return nil, fmt.Errorf("store: append events: seq starts at 1, got %d: %w", e.Seq, ErrInvalid)
		case i > 0 && e.Seq != events[i-1].Seq+1:
			return nil, fmt.Errorf("store: append events: seq %d follows %d: %w", e.Seq, events[i-1].Seq, ErrSequenceGap)
		case !utf8.ValidString(e.CaseID + e.Type + e.ActorID + e.ActorRole):
			return nil, fmt.Errorf("store: append events: event %d has text that is not UTF-8: %w", e.Seq, ErrInvalid)
		}
		data, err := chain.CanonicalData(e.Data)
		if err != nil {
			return nil, fmt.Errorf("store: append events: event %d: %w: %w", e.Seq, err, ErrInvalid)
		}
		e.Data = data
		e.At = dbTime(e.At)
		out[i] = e
	}
	return out, nil
}

// lockEventHead returns the case's chain head and, on PostgreSQL, locks the
// case row until the transaction ends. On SQLite the immediate write
// transaction already excludes every other writer.
func (s *Store) lockEventHead(tx *gorm.DB, caseID string) (int64, string, error) {
	q := "SELECT events_head_seq, events_head_hash FROM cases WHERE id = ?"
	if s.dialect == DialectPostgres {
		q += " FOR UPDATE"
	}
	var head struct {
		EventsHeadSeq  int64
		EventsHeadHash string
	}
	res := tx.Raw(q, caseID).Scan(&head)
	if res.Error != nil {
		return 0, "", res.Error
	}
	if res.RowsAffected == 0 {
		return 0, "", fmt.Errorf("case %s: %w", caseID, ErrNotFound)
	}
	return head.EventsHeadSeq, head.EventsHeadHash, nil
}

// Chain is what the hash chain covers of e.
func (e Event) Chain() chain.Event { return e.Event }

func (r eventRow) chainEvent() chain.Event {
	return chain.Event{
		CaseID: r.CaseID, Seq: r.Seq, Type: r.Type, ActorID: r.ActorID, ActorRole: r.ActorRole,
		At: r.At.UTC(), Data: json.RawMessage(r.Data),
	}
}

func (r eventRow) event() Event {
	return Event{Event: r.chainEvent(), PrevHash: r.PrevHash, Hash: r.Hash, RunID: r.RunID}
}

// Events returns the case's events in Seq order (none for an unknown case).
func (s *Store) Events(ctx context.Context, caseID string) ([]Event, error) {
	return events(ctx, s.read, caseID, 1)
}

// EventsFrom returns the case's events from sequence number from on, in Seq
// order, read from the primary: it serves decisions about the log (a
// workflow resolving a fork), which must not see a replica's past.
func (s *Store) EventsFrom(ctx context.Context, caseID string, from int64) ([]Event, error) {
	return events(ctx, s.db, caseID, from)
}

func events(ctx context.Context, db *gorm.DB, caseID string, from int64) ([]Event, error) {
	var rows []eventRow
	if err := db.WithContext(ctx).Where("case_id = ? AND seq >= ?", caseID, from).Order("seq").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: events of case %s: %w", caseID, err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// ChainReport is the outcome of VerifyChain. BrokenAt is the first sequence
// number that fails (0 when Valid); Count is the number of stored events.
type ChainReport struct {
	Valid    bool
	Count    int
	BrokenAt int64
	Reason   string
}

// VerifyChain recomputes the case's hash chain from the stored rows. It
// detects an altered row (its hash no longer matches), a rewritten hash (the
// next row's prev_hash no longer matches), a deleted or reordered row (a gap
// or a prev_hash mismatch) and a truncated tail (the chain head kept on the
// case row). ErrNotFound if the case does not exist.
func (s *Store) VerifyChain(ctx context.Context, caseID string) (ChainReport, error) {
	// The head and the rows must come from one snapshot, or an append that
	// commits between the two reads would look like tampering. SQLite
	// transactions are snapshots already; PostgreSQL needs REPEATABLE READ.
	var opts []*sql.TxOptions
	if s.dialect == DialectPostgres {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	var report ChainReport
	err := s.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var head caseRow
		if err := take(tx.Select("id", "events_head_seq", "events_head_hash").Where("id = ?", caseID), &head); err != nil {
			return fmt.Errorf("case %s: %w", caseID, err)
		}
		var rows []eventRow
		if err := tx.Where("case_id = ?", caseID).Order("seq").Find(&rows).Error; err != nil {
			return err
		}
		report = verifyRows(rows, head.EventsHeadSeq, head.EventsHeadHash)
		return nil
	}, opts...)
	if err != nil {
		return ChainReport{}, fmt.Errorf("store: verify chain of case %s: %w", caseID, err)
	}
	return report, nil
}

func verifyRows(rows []eventRow, headSeq int64, headHash string) ChainReport {
	broken := func(seq int64, format string, args ...any) ChainReport {
		return ChainReport{Count: len(rows), BrokenAt: seq, Reason: fmt.Sprintf(format, args...)}
	}
	prev := chain.Genesis
	for i, r := range rows {
		want := int64(i) + 1
		if r.Seq != want {
			return broken(want, "event %d is missing (the next stored event is %d)", want, r.Seq)
		}
		if r.PrevHash != prev {
			return broken(r.Seq, "prev_hash does not match the hash of event %d", r.Seq-1)
		}
		data, err := chain.CanonicalData([]byte(r.Data))
		if err != nil {
			return broken(r.Seq, "data is not valid JSON")
		}
		if chain.Link(prev, chain.WithData(r.chainEvent(), data)) != r.Hash {
			return broken(r.Seq, "hash does not match the event's content")
		}
		prev = r.Hash
	}
	n := int64(len(rows))
	if headSeq != n {
		return broken(min(headSeq, n)+1, "the case records %d events but the log holds %d", headSeq, n)
	}
	if n > 0 && headHash != prev {
		return broken(n, "the last hash differs from the chain head recorded on the case")
	}
	return ChainReport{Valid: true, Count: len(rows)}
}
