package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Concurrent InboxInsert calls are written together, a few statements at a
// time (group commit): a webhook's own work is small next to a statement's
// round trip and commit, and in the webhook benchmark one INSERT per event
// left the API and PostgreSQL spending most of their CPU on statement
// overhead. A caller still returns only once the statement holding its row
// has committed, so a 200 to 100ms keeps meaning "stored". No caller waits
// for a batch to fill: a flusher takes whatever is queued when it is free, so
// a lone event is written at once and batches grow only under load.
const (
	inboxBatchMax     = 64 // rows per statement
	inboxFlushers     = 2  // statements in flight at once
	inboxWriteTimeout = 10 * time.Second
)

// errStoreClosed answers inserts that arrive while the store closes.
var errStoreClosed = errors.New("store: closed")

type inboxInsertReq struct {
	ctx context.Context // the caller's: a request whose caller gave up is not written
	row inboxRow
	res chan inboxInsertRes // buffered: a flusher never blocks on a caller that gave up
}

type inboxInsertRes struct {
	inserted bool
	err      error
}

type inboxBatcher struct {
	s        *Store
	reqs     chan *inboxInsertReq
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// batcher starts the flushers on first use, so a store that never takes a
// webhook runs no goroutines.
func (s *Store) batcher() *inboxBatcher {
	s.inboxOnce.Do(func() {
		b := &inboxBatcher{s: s, reqs: make(chan *inboxInsertReq, inboxBatchMax*inboxFlushers), stop: make(chan struct{})}
		for range inboxFlushers {
			b.wg.Go(b.loop)
		}
		s.inbox = b
	})
	return s.inbox
}

// closeBatcher stops the flushers after the batches in flight; callers
// still queued get errStoreClosed.
func (s *Store) closeBatcher() {
	s.inboxOnce.Do(func() {}) // no batcher may start after this
	if s.inbox == nil {
		return
	}
	s.inbox.stopOnce.Do(func() { close(s.inbox.stop) })
	s.inbox.wg.Wait()
	for {
		select {
		case r := <-s.inbox.reqs:
			r.res <- inboxInsertRes{err: errStoreClosed}
		default:
			return
		}
	}
}

func (b *inboxBatcher) insert(ctx context.Context, row inboxRow) (bool, error) {
	r := &inboxInsertReq{ctx: ctx, row: row, res: make(chan inboxInsertRes, 1)}
	select {
	case b.reqs <- r:
	case <-b.stop:
		return false, errStoreClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case res := <-r.res:
		return res.inserted, res.err
	case <-b.stop:
		// The flusher may still write the row; the sender's retry then
		// finds it stored, as after any lost answer.
		return false, errStoreClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (b *inboxBatcher) loop() {
	for {
		var first *inboxInsertReq
		select {
		case <-b.stop:
			return
		case first = <-b.reqs:
		}
		select {
		case <-b.stop:
			// Close won the race for this request: closeBatcher answers
			// those still queued, this one here.
			first.res <- inboxInsertRes{err: errStoreClosed}
			return
		default:
		}
		batch := live(nil, first)
	fill:
		for len(batch) < inboxBatchMax {
			select {
			case r := <-b.reqs:
				batch = live(batch, r)
			default:
				break fill
			}
		}
		if len(batch) > 0 {
			b.flush(batch)
		}
	}
}

// live appends r unless its caller has already given up (and answered
// 503): writing its row now would only hide it from the dispatcher until
// the next poll. 100ms delivers it again.
func live(batch []*inboxInsertReq, r *inboxInsertReq) []*inboxInsertReq {
	if err := r.ctx.Err(); err != nil {
		r.res <- inboxInsertRes{err: err}
		return batch
	}
	return append(batch, r)
}

// flush writes one batch and answers every request in it exactly once,
// also when the write panics (a bug must not take the process, and with it
// every webhook in flight, down).
func (b *inboxBatcher) flush(batch []*inboxInsertReq) {
	results := make([]inboxInsertRes, len(batch))
	defer func() {
		if p := recover(); p != nil {
			b.s.log.Error("inbox batch insert panicked", "panic", fmt.Sprint(p))
			for i := range results {
				results[i] = inboxInsertRes{err: fmt.Errorf("store: inbox insert: internal error: %v", p)}
			}
		}
		for i, r := range batch {
			r.res <- results[i]
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), inboxWriteTimeout)
	defer cancel()
	copy(results, b.s.inboxInsertMany(ctx, batch))
}

// inboxInsertMany writes the batch's rows in one statement and settles each
// request as InboxInsert promises: inserted, already stored with the same
// body, or ErrIdempotencyConflict.
func (s *Store) inboxInsertMany(ctx context.Context, batch []*inboxInsertReq) []inboxInsertRes {
	results := make([]inboxInsertRes, len(batch))
	// An event id twice in one batch (100ms retried while the first
	// delivery was still being stored) is written once; the others are
	// settled against what was stored.
	first := map[string]int{}
	var rows []inboxRow
	for i, r := range batch {
		if _, dup := first[r.row.EventID]; !dup {
			first[r.row.EventID] = i
			rows = append(rows, r.row)
		}
	}
	// One lock order for every statement: two flushers inserting the same
	// ids in opposite orders would otherwise deadlock on the primary key.
	slices.SortFunc(rows, func(a, b inboxRow) int { return strings.Compare(a.EventID, b.EventID) })
	inserted, err := s.insertInboxRows(ctx, rows)
	if err != nil && len(batch) > 1 {
		// A row the database refuses must not fail the events it shares
		// the statement with: each is written on its own (during an outage
		// they all fail, as before).
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				results[i].err = err // its caller has answered already
				continue
			}
			results[i] = s.inboxInsertMany(ctx, []*inboxInsertReq{r})[0]
		}
		return results
	}
	if err != nil {
		results[0].err = fmt.Errorf("store: inbox insert %s: %w", batch[0].row.EventID, err)
		return results
	}
	var check []string
	for i, r := range batch {
		if inserted[r.row.EventID] && first[r.row.EventID] == i {
			results[i].inserted = true
			continue
		}
		check = append(check, r.row.EventID)
	}
	if len(check) == 0 {
		return results
	}
	stored, err := s.inboxHashes(ctx, check)
	for i, r := range batch {
		if results[i].inserted {
			continue
		}
		h, ok := stored[r.row.EventID]
		switch {
		case err != nil:
			results[i].err = fmt.Errorf("store: inbox insert %s: read the stored event: %w", r.row.EventID, err)
		case !ok:
			results[i].err = fmt.Errorf("store: inbox insert %s: the stored event is gone: %w", r.row.EventID, ErrNotFound)
		case h != r.row.BodyHash:
			results[i].err = fmt.Errorf("store: inbox insert %s: event id replayed with another body: %w", r.row.EventID, ErrIdempotencyConflict)
		}
	}
	return results
}

// insertInboxRows inserts rows, skipping event ids already stored, and
// returns the ids it inserted.
func (s *Store) insertInboxRows(ctx context.Context, rows []inboxRow) (map[string]bool, error) {
	const cols = 11
	var sql strings.Builder
	sql.WriteString("INSERT INTO webhook_inbox (event_id, type, room_name, case_id, body, body_hash, state, attempts, last_error, received_at, updated_at) VALUES ")
	args := make([]any, 0, cols*len(rows))
	for i, r := range rows {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, r.EventID, r.Type, r.RoomName, r.CaseID, r.Body, r.BodyHash, r.State, r.Attempts, r.LastError, r.ReceivedAt, r.UpdatedAt)
	}
	sql.WriteString(" ON CONFLICT (event_id) DO NOTHING RETURNING event_id")
	// Rows, not Scan: gorm's Scan renders the statement with every
	// argument inlined for its logger, which cost more than the insert.
	rs, err := s.db.WithContext(ctx).Raw(sql.String(), args...).Rows()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rs.Close() }() // a read error is reported by rs.Err
	out := make(map[string]bool, len(rows))
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rs.Err()
}

func (s *Store) inboxHashes(ctx context.Context, ids []string) (map[string]string, error) {
	var rows []struct {
		EventID  string
		BodyHash string
	}
	if err := s.db.WithContext(ctx).Model(&inboxRow{}).Select("event_id, body_hash").Where("event_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.EventID] = r.BodyHash
	}
	return out, nil
}
