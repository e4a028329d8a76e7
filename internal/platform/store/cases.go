package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// NewCase is what the API records before it starts the case workflow.
type NewCase struct {
	ID               string
	Customer         kyc.Customer
	RequiredCaptures []kyc.CaptureKind
	AuditRejections  bool
	CreatedBy        string
	IdempotencyKey   string // "" when the caller sent none
	RequestHash      string // hash of the create request, to tell a retry from a reused key
	CreatedAt        time.Time
}

// CaseRecord is the bank's record of a case: the latest projection of the
// workflow plus the customer's PII, which only the database holds.
type CaseRecord struct {
	ID       string
	Status   kyc.Status
	Customer kyc.Customer
	AgentID  string
	Attempt  int
	Overdue  bool
	// View is the last projection, with View.Customer completed from the case
	// row. Before the first projection it is built from the NewCase.
	View      kyc.CaseView
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CreateCase records a new case. With an IdempotencyKey, a retry by the same
// creator with the same RequestHash returns the case created first
// (created=false); the same key with another hash is ErrIdempotencyConflict.
// The unique index on (created_by, idempotency_key) decides races.
func (s *Store) CreateCase(ctx context.Context, nc NewCase) (*CaseRecord, bool, error) {
	if nc.ID == "" || nc.Customer.Reference == "" {
		return nil, false, fmt.Errorf("store: create case: id and customer reference are required: %w", ErrInvalid)
	}
	required := nc.RequiredCaptures
	if required == nil {
		required = []kyc.CaptureKind{}
	}
	requiredJSON, err := json.Marshal(required)
	if err != nil {
		return nil, false, fmt.Errorf("store: create case %s: %w", nc.ID, err)
	}
	createdAt := nc.CreatedAt
	if createdAt.IsZero() {
		createdAt = time.Now()
	}
	row := caseRow{
		ID:                nc.ID,
		CustomerReference: nc.Customer.Reference,
		CustomerName:      nc.Customer.Name,
		CustomerEmail:     nc.Customer.Email,
		CustomerPhone:     nc.Customer.Phone,
		Status:            string(kyc.StatusWaitingForParticipants),
		RequiredCaptures:  string(requiredJSON),
		AuditRejections:   nc.AuditRejections,
		CreatedBy:         nc.CreatedBy,
		RequestHash:       nc.RequestHash,
		CreatedAt:         dbTime(createdAt),
		UpdatedAt:         dbTime(createdAt),
	}
	db := s.db.WithContext(ctx)
	if nc.IdempotencyKey == "" {
		if err := db.Create(&row).Error; err != nil {
			return nil, false, createError(nc.ID, err)
		}
		rec, err := row.record()
		return rec, true, err
	}

	row.IdempotencyKey = &nc.IdempotencyKey
	res := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "created_by"}, {Name: "idempotency_key"}},
		DoNothing: true,
	}).Create(&row)
	// A duplicate id is a retry that reused the case id as well as the key
	// when the lookup below finds the key; otherwise it is ErrConflict.
	if res.Error != nil && !errors.Is(res.Error, gorm.ErrDuplicatedKey) {
		return nil, false, createError(nc.ID, res.Error)
	}
	if res.Error == nil && res.RowsAffected == 1 {
		rec, err := row.record()
		return rec, true, err
	}
	// On PostgreSQL, ON CONFLICT DO NOTHING waited for the competing insert
	// to commit, so the winner is visible now.
	var existing caseRow
	err = db.Where("created_by = ? AND idempotency_key = ?", nc.CreatedBy, nc.IdempotencyKey).Take(&existing).Error
	if errors.Is(err, gorm.ErrRecordNotFound) && res.Error != nil {
		return nil, false, createError(nc.ID, res.Error)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: create case: read the case of idempotency key: %w", err)
	}
	if existing.RequestHash != nc.RequestHash {
		return nil, false, fmt.Errorf("store: create case: key already used for case %s: %w", existing.ID, ErrIdempotencyConflict)
	}
	rec, err := existing.record()
	return rec, false, err
}

func createError(id string, err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("store: create case %s: id already exists: %w", id, ErrConflict)
	}
	return fmt.Errorf("store: create case %s: %w", id, err)
}

// GetCase returns the case with id, or ErrNotFound.
func (s *Store) GetCase(ctx context.Context, id string) (*CaseRecord, error) {
	var row caseRow
	if err := take(s.read.WithContext(ctx).Where("id = ?", id), &row); err != nil {
		return nil, fmt.Errorf("store: case %s: %w", id, err)
	}
	return row.record()
}

// KnownCases returns which of ids have a case row. The API commits the row
// before it starts the case's workflow, so normally an id without one has no
// workflow either; the inbox dispatcher asks once per round instead of
// finding that out with a signal per case.
func (s *Store) KnownCases(ctx context.Context, ids []string) (map[string]bool, error) {
	known := make(map[string]bool, len(ids))
	for part := range slices.Chunk(ids, inListMax) {
		var found []string
		if err := s.db.WithContext(ctx).Model(&caseRow{}).Where("id IN ?", part).Pluck("id", &found).Error; err != nil {
			return nil, fmt.Errorf("store: known cases: %w", err)
		}
		for _, id := range found {
			known[id] = true
		}
	}
	return known, nil
}

// SaveProjection stores the workflow's view of a case: the projection columns,
// the view JSON and the case's attempts and captures rows, in one transaction.
// Projections may arrive twice or out of order (activity retries), so a view
// whose Version is not above the stored one is ignored; the very first
// projection is always taken, even at Version 0. If the case row is missing
// (it is created by the API before the workflow starts, so this means an
// inconsistency) the row is created from the view, without PII.
func (s *Store) SaveProjection(ctx context.Context, view kyc.CaseView) error {
	p, err := newProjection(view)
	if err != nil {
		return err
	}
	if err := s.db.WithContext(ctx).Transaction(p.save); err != nil {
		return p.error(err)
	}
	return nil
}

// projected is a view ready to be stored.
type projected struct {
	view kyc.CaseView
	row  caseRow
}

func newProjection(view kyc.CaseView) (*projected, error) {
	if view.ID == "" || !view.Status.Valid() {
		return nil, fmt.Errorf("store: save projection: case id %q, status %q: %w", view.ID, view.Status, ErrInvalid)
	}
	// The view must not carry PII; strip it anyway so that a careless caller
	// cannot copy the customer's name or contacts into the JSON column.
	view.Customer = kyc.Customer{Reference: view.Customer.Reference}
	viewJSON, err := json.Marshal(view)
	if err != nil {
		return nil, fmt.Errorf("store: save projection %s: %w", view.ID, err)
	}
	viewText := string(viewJSON)
	requiredJSON, err := json.Marshal(nonNil(view.RequiredCaptures))
	if err != nil {
		return nil, fmt.Errorf("store: save projection %s: %w", view.ID, err)
	}
	updatedAt := view.UpdatedAt
	if updatedAt.IsZero() {
		updatedAt = time.Now()
	}
	createdAt := view.CreatedAt
	if createdAt.IsZero() {
		createdAt = updatedAt
	}
	return &projected{view: view, row: caseRow{
		ID:                view.ID,
		CustomerReference: view.Customer.Reference,
		Status:            string(view.Status),
		AgentID:           view.AgentID,
		AuditedBy:         auditor(view),
		Attempt:           view.Attempt,
		Overdue:           view.Overdue,
		RequiredCaptures:  string(requiredJSON),
		AuditRejections:   view.AuditRejections,
		View:              &viewText,
		Version:           view.Version,
		CreatedAt:         dbTime(createdAt),
		UpdatedAt:         dbTime(updatedAt),
	}}, nil
}

// save stores the projection in tx.
func (p *projected) save(tx *gorm.DB) error {
	row := p.row
	res := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"status", "agent_id", "audited_by", "attempt", "overdue", "view", "version", "updated_at"}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "cases.view IS NULL OR cases.version < excluded.version"},
		}},
	}).Create(&row)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return nil // stale or repeated projection
	}
	if err := syncAttempts(tx, p.view); err != nil {
		return err
	}
	return syncCaptures(tx, p.view)
}

// error is the error of a failed save.
func (p *projected) error(err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// A capture id that belongs to another case.
		return fmt.Errorf("store: save projection %s v%d: %w: %w", p.view.ID, p.view.Version, ErrConflict, err)
	}
	return fmt.Errorf("store: save projection %s v%d: %w", p.view.ID, p.view.Version, refused(err))
}

// The attempt and capture rows follow the view by difference, not by
// rewriting them all: the workflow saves its projection after every change,
// and deleting and inserting every capture of a case at each save made the
// save (on the path of every update's answer) grow with the case; it was the
// worker's largest cost in the capture-upload benchmark.

// syncAttempts upserts the view's attempts (a handful, and the current one
// changes) and removes any the view no longer has.
func syncAttempts(tx *gorm.DB, view kyc.CaseView) error {
	if attempts := attemptRows(view); len(attempts) > 0 {
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "case_id"}, {Name: "number"}},
			DoUpdates: clause.AssignmentColumns([]string{"room_id", "room_name", "status", "started_at", "ended_at", "end_reason"}),
		}).Create(&attempts).Error
		if err != nil {
			return err
		}
	}
	return tx.Where("case_id = ? AND number > ?", view.ID, len(view.Attempts)).Delete(&attemptRow{}).Error
}

// syncCaptures inserts the view's new captures and removes any the view no
// longer has. A capture never changes once the workflow has recorded it (it
// refuses the same id with other content), so stored ones are left as they
// are. A capture id stored for another case fails the insert, as before.
func syncCaptures(tx *gorm.DB, view kyc.CaseView) error {
	var stored []string
	if err := tx.Model(&captureRow{}).Where("case_id = ?", view.ID).Pluck("id", &stored).Error; err != nil {
		return err
	}
	have := make(map[string]bool, len(stored))
	for _, id := range stored {
		have[id] = true
	}
	var fresh []captureRow
	for _, r := range captureRows(view) {
		if !have[r.ID] {
			fresh = append(fresh, r)
		}
		delete(have, r.ID)
	}
	if len(have) > 0 {
		gone := make([]string, 0, len(have))
		for id := range have {
			gone = append(gone, id)
		}
		if err := tx.Where("case_id = ? AND id IN ?", view.ID, gone).Delete(&captureRow{}).Error; err != nil {
			return err
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	return tx.Create(&fresh).Error
}

func attemptRows(view kyc.CaseView) []attemptRow {
	rows := make([]attemptRow, 0, len(view.Attempts))
	for _, a := range view.Attempts {
		r := attemptRow{
			CaseID: view.ID, Number: a.Number, RoomID: a.RoomID, RoomName: a.RoomName,
			Status: a.Status, EndReason: a.EndReason,
		}
		if !a.StartedAt.IsZero() {
			t := dbTime(a.StartedAt)
			r.StartedAt = &t
		}
		if a.EndedAt != nil {
			t := dbTime(*a.EndedAt)
			r.EndedAt = &t
		}
		rows = append(rows, r)
	}
	return rows
}

func captureRows(view kyc.CaseView) []captureRow {
	rows := make([]captureRow, 0, len(view.Captures))
	for _, c := range view.Captures {
		rows = append(rows, captureRow{
			ID: c.ID, CaseID: view.ID, Attempt: c.Attempt, Kind: string(c.Kind), ObjectKey: c.ObjectKey,
			Size: c.Size, SHA256: c.SHA256, ContentType: c.ContentType, CreatedBy: c.CreatedBy,
			CreatedAt: dbTime(c.CreatedAt),
		})
	}
	return rows
}

func auditor(v kyc.CaseView) string {
	if v.Audit == nil {
		return ""
	}
	return v.Audit.By
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (r *caseRow) customer() kyc.Customer {
	return kyc.Customer{Reference: r.CustomerReference, Name: r.CustomerName, Email: r.CustomerEmail, Phone: r.CustomerPhone}
}

func (r *caseRow) record() (*CaseRecord, error) {
	var view kyc.CaseView
	if r.View != nil {
		if err := json.Unmarshal([]byte(*r.View), &view); err != nil {
			return nil, fmt.Errorf("store: case %s: decode view: %w", r.ID, err)
		}
	} else {
		var required []kyc.CaptureKind
		if err := json.Unmarshal([]byte(r.RequiredCaptures), &required); err != nil {
			return nil, fmt.Errorf("store: case %s: decode required captures: %w", r.ID, err)
		}
		view = kyc.CaseView{
			ID:               r.ID,
			Status:           kyc.StatusWaitingForParticipants,
			RequiredCaptures: nonNil(required),
			AuditRejections:  r.AuditRejections,
			Attempts:         []kyc.Attempt{},
			Captures:         []kyc.Capture{},
			Recording:        kyc.Recording{Status: kyc.RecordingPending},
			CreatedAt:        r.CreatedAt.UTC(),
			UpdatedAt:        r.UpdatedAt.UTC(),
		}
	}
	view.Customer = r.customer()
	return &CaseRecord{
		ID:        r.ID,
		Status:    kyc.Status(r.Status),
		Customer:  r.customer(),
		AgentID:   r.AgentID,
		Attempt:   r.Attempt,
		Overdue:   r.Overdue,
		View:      view,
		Version:   r.Version,
		CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(),
	}, nil
}
