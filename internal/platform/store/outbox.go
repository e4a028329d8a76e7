package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
)

// DeliveryState is where an outbound webhook delivery is.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"   // waiting for its (next) attempt
	DeliveryDelivered DeliveryState = "delivered" // the bank answered 2xx
	// DeliveryFailed: the retry window passed without a 2xx; it no longer
	// holds back the case's later messages. Redeliver sends it again.
	DeliveryFailed DeliveryState = "failed"
)

// AllDeliveryStates lists every delivery state.
var AllDeliveryStates = []DeliveryState{DeliveryPending, DeliveryDelivered, DeliveryFailed}

// Valid reports whether s is a known state.
func (s DeliveryState) Valid() bool {
	for _, v := range AllDeliveryStates {
		if v == s {
			return true
		}
	}
	return false
}

// WithWebhookEndpoints makes AppendEvents write, in its transaction, one
// outbound webhook delivery per endpoint for every appended event the bank
// hears about (message.Relevant). Without endpoints it writes none.
func WithWebhookEndpoints(urls []string) Option {
	return func(o *options) { o.endpoints = append([]string(nil), urls...) }
}

// Delivery is one message to one endpoint and how its delivery went.
type Delivery struct {
	ID            string        `json:"id"`
	WebhookID     string        `json:"webhook_id"`
	Endpoint      string        `json:"endpoint"`
	CaseID        string        `json:"case_id"`
	Seq           int64         `json:"seq"`
	EventType     string        `json:"event_type"`
	Payload       string        `json:"-"`
	State         DeliveryState `json:"status"`
	Attempts      int           `json:"attempts"`
	LastStatus    int           `json:"last_status,omitempty"` // the endpoint's HTTP status; 0: none (network error, timeout)
	LastError     string        `json:"last_error,omitempty"`
	NextAttemptAt *time.Time    `json:"next_attempt_at,omitempty"` // pending only
	RetryFrom     time.Time     `json:"retry_from"`                // start of the retry window (creation, or the last redeliver)
	DeliveredAt   *time.Time    `json:"delivered_at,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	LeaseOwner    string        `json:"-"`
}

type deliveryRow struct {
	ID            string `gorm:"primaryKey"`
	WebhookID     string
	Endpoint      string
	CaseID        string
	Seq           int64
	EventType     string
	Payload       string
	State         string
	Attempts      int
	LastStatus    int
	LastError     string
	NextAttemptAt time.Time
	RetryFrom     time.Time
	LeaseOwner    string
	LeaseUntil    *time.Time
	DeliveredAt   *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (deliveryRow) TableName() string { return "webhook_deliveries" }

func (r deliveryRow) delivery() Delivery {
	d := Delivery{
		ID: r.ID, WebhookID: r.WebhookID, Endpoint: r.Endpoint, CaseID: r.CaseID, Seq: r.Seq, EventType: r.EventType,
		Payload: r.Payload, State: DeliveryState(r.State), Attempts: r.Attempts, LastStatus: r.LastStatus,
		LastError: r.LastError, RetryFrom: r.RetryFrom.UTC(), DeliveredAt: utcPtr(r.DeliveredAt),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), LeaseOwner: r.LeaseOwner,
	}
	if d.State == DeliveryPending {
		next := r.NextAttemptAt.UTC()
		d.NextAttemptAt = &next
	}
	return d
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// writeOutbox adds the deliveries of freshly appended events; it runs inside
// AppendEvents' transaction, so a delivery exists exactly when its event
// does.
func (s *Store) writeOutbox(tx *gorm.DB, caseID string, fresh []eventRow) error {
	if len(s.endpoints) == 0 {
		return nil
	}
	// The status before the batch is needed only for a message that comes
	// before the batch's first status change.
	needPrior := false
	for _, e := range fresh {
		if e.Type == message.LogStatusChanged {
			break
		}
		if message.Relevant(e.Type) {
			needPrior = true
			break
		}
	}
	if !needPrior && !anyRelevant(fresh) {
		return nil
	}
	var ref string
	if err := tx.Raw("SELECT customer_reference FROM cases WHERE id = ?", caseID).Scan(&ref).Error; err != nil {
		return err
	}
	status := message.InitialStatus
	if needPrior {
		var data []string
		err := tx.Raw("SELECT data FROM case_events WHERE case_id = ? AND type = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
			caseID, message.LogStatusChanged, fresh[0].Seq).Scan(&data).Error
		if err != nil {
			return err
		}
		if len(data) > 0 {
			if to := message.StatusAfter([]byte(data[0])); to != "" {
				status = to
			}
		}
	}
	evs := make([]message.LogEvent, len(fresh))
	for i, e := range fresh {
		evs[i] = message.LogEvent{CaseID: e.CaseID, Seq: e.Seq, Type: e.Type, At: e.At, Data: []byte(e.Data)}
	}
	msgs, err := message.Build(ref, status, evs)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := s.now()
	rows := make([]deliveryRow, 0, len(msgs)*len(s.endpoints))
	for _, m := range msgs {
		for _, ep := range s.endpoints {
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			rows = append(rows, deliveryRow{
				ID: id.String(), WebhookID: m.ID, Endpoint: ep, CaseID: m.CaseID, Seq: m.Seq, EventType: m.Type,
				Payload: string(m.Payload), State: string(DeliveryPending), NextAttemptAt: now, RetryFrom: now,
				CreatedAt: now, UpdatedAt: now,
			})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 200).Error
}

func anyRelevant(rows []eventRow) bool {
	for _, e := range rows {
		if message.Relevant(e.Type) {
			return true
		}
	}
	return false
}

// ClaimDeliveries leases up to limit deliveries that are due, for owner,
// until now+lease, and counts the attempt. Only the oldest pending delivery
// of each case and endpoint is ever due, so a case's messages go out in
// order: the next one waits until this one is delivered or failed. On
// PostgreSQL, deliverers of several processes skip each other's rows
// (FOR UPDATE SKIP LOCKED); on SQLite the write transaction serializes them.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, limit int, lease time.Duration) ([]Delivery, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("store: claim deliveries: owner, limit and lease are required: %w", ErrInvalid)
	}
	q := `SELECT d.* FROM webhook_deliveries d
		WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
			WHERE e.case_id = d.case_id AND e.endpoint = d.endpoint AND e.state = 'pending' AND e.seq < d.seq)
		ORDER BY d.next_attempt_at, d.id LIMIT ?`
	if s.dialect == DialectPostgres {
		q += " FOR UPDATE OF d SKIP LOCKED"
	}
	var out []Delivery
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		var rows []deliveryRow
		if err := tx.Raw(q, now, now, limit).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		until := now.Add(lease)
		err := tx.Model(&deliveryRow{}).Where("id IN ?", ids).Updates(map[string]any{
			"lease_owner": owner, "lease_until": until, "attempts": gorm.Expr("attempts + 1"), "updated_at": now,
		}).Error
		if err != nil {
			return err
		}
		for _, r := range rows {
			r.LeaseOwner, r.LeaseUntil, r.Attempts, r.UpdatedAt = owner, &until, r.Attempts+1, now
			out = append(out, r.delivery())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	return out, nil
}

// DeliveryOutcome is how one attempt went.
type DeliveryOutcome struct {
	Delivered bool
	Status    int    // the endpoint's HTTP status, 0 if none
	Error     string // why the attempt failed
	// Next is when to try again; zero with Delivered false means give up
	// (the delivery fails).
	Next time.Time
}

// FinishDelivery records an attempt's outcome and ends owner's lease. It
// returns false when owner no longer holds the lease (it expired and
// another deliverer took the row, or an operator asked for a redelivery):
// the outcome is then dropped, since the row's new holder reports its own.
func (s *Store) FinishDelivery(ctx context.Context, id, owner string, o DeliveryOutcome) (bool, error) {
	now := s.now()
	set := map[string]any{
		"last_status": o.Status, "last_error": truncateText(o.Error, 500), "lease_owner": "", "lease_until": nil, "updated_at": now,
	}
	switch {
	case o.Delivered:
		set["state"], set["delivered_at"] = string(DeliveryDelivered), now
	case o.Next.IsZero():
		set["state"] = string(DeliveryFailed)
	default:
		set["next_attempt_at"] = dbTime(o.Next)
	}
	res := s.db.WithContext(ctx).Model(&deliveryRow{}).
		Where("id = ? AND lease_owner = ? AND state = ?", id, owner, string(DeliveryPending)).Updates(set)
	if res.Error != nil {
		return false, fmt.Errorf("store: finish delivery %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

func truncateText(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "?")
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Redeliver queues a delivery again at once, whatever its state, with a
// fresh retry window; a lease held on it is void. ErrNotFound if there is
// no such delivery.
func (s *Store) Redeliver(ctx context.Context, id string) (Delivery, error) {
	var out Delivery
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&deliveryRow{}).Where("id = ?", id).Updates(map[string]any{
			"state": string(DeliveryPending), "next_attempt_at": now, "retry_from": now,
			"lease_owner": "", "lease_until": nil, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("delivery %s: %w", id, ErrNotFound)
		}
		var r deliveryRow
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return err
		}
		out = r.delivery()
		return nil
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("store: redeliver: %w", err)
	}
	return out, nil
}

// GetDelivery returns one delivery.
func (s *Store) GetDelivery(ctx context.Context, id string) (Delivery, error) {
	var r deliveryRow
	if err := take(s.read.WithContext(ctx).Where("id = ?", id), &r); err != nil {
		return Delivery{}, fmt.Errorf("store: delivery %s: %w", id, err)
	}
	return r.delivery(), nil
}

// DeliveryFilter selects deliveries; empty fields match everything.
type DeliveryFilter struct {
	CaseID    string
	State     DeliveryState
	EventType string
	// Before is a cursor: the id of the last delivery of the previous page.
	Before string
	Limit  int
}

// ListDeliveries returns deliveries newest first, and the cursor of the next
// page ("" at the end).
func (s *Store) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q := s.read.WithContext(ctx).Model(&deliveryRow{})
	if f.CaseID != "" {
		q = q.Where("case_id = ?", f.CaseID)
	}
	if f.State != "" {
		q = q.Where("state = ?", string(f.State))
	}
	if f.EventType != "" {
		q = q.Where("event_type = ?", f.EventType)
	}
	if f.Before != "" {
		q = q.Where("id < ?", f.Before)
	}
	var rows []deliveryRow
	if err := q.Order("id DESC").Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("store: list deliveries: %w", err)
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, next, nil
}

// DeliveryStats counts deliveries by state and gives the creation time of
// the oldest pending one (zero if none), for metrics.
func (s *Store) DeliveryStats(ctx context.Context) (map[DeliveryState]int64, time.Time, error) {
	var counts []struct {
		State string
		N     int64
	}
	db := s.read.WithContext(ctx)
	if err := db.Raw("SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state").Scan(&counts).Error; err != nil {
		return nil, time.Time{}, fmt.Errorf("store: delivery stats: %w", err)
	}
	out := map[DeliveryState]int64{}
	for _, c := range counts {
		out[DeliveryState(c.State)] = c.N
	}
	var oldest []deliveryRow
	if err := db.Select("retry_from").Where("state = ?", string(DeliveryPending)).Order("retry_from").Limit(1).Find(&oldest).Error; err != nil {
		return nil, time.Time{}, fmt.Errorf("store: delivery stats: %w", err)
	}
	var t time.Time
	if len(oldest) > 0 {
		t = oldest[0].RetryFrom.UTC()
	}
	return out, t, nil
}
