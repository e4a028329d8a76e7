package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Invite is a customer's link to a case. The token itself is never stored:
// TokenHash is its SHA-256, so a database dump opens no case.
type Invite struct {
	ID        string
	CaseID    string
	TokenHash string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// inviteRow is an Invite as the invites table holds it (ID is the primary
// key by gorm's convention).
type inviteRow Invite

func (inviteRow) TableName() string { return "invites" }

func (r inviteRow) invite() *Invite {
	inv := Invite(r)
	return &inv
}

// CreateInvite stores an invite.
func (s *Store) CreateInvite(ctx context.Context, inv Invite) error {
	if inv.ID == "" || inv.CaseID == "" || len(inv.TokenHash) != 64 {
		return fmt.Errorf("store: create invite: id, case id and a SHA-256 token hash are required: %w", ErrInvalid)
	}
	row := inviteRow(inv)
	row.CreatedAt, row.ExpiresAt = dbTime(inv.CreatedAt), dbTime(inv.ExpiresAt)
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("store: create invite %s: %w", inv.ID, ErrConflict)
		}
		return fmt.Errorf("store: create invite %s: %w", inv.ID, err)
	}
	return nil
}

// InviteByTokenHash returns the invite whose token hashes to tokenHash, or
// ErrNotFound. Expiry and revocation are the caller's to judge.
func (s *Store) InviteByTokenHash(ctx context.Context, tokenHash string) (*Invite, error) {
	var row inviteRow
	if err := take(s.read.WithContext(ctx).Where("token_hash = ?", tokenHash), &row); err != nil {
		return nil, fmt.Errorf("store: invite: %w", err)
	}
	return row.invite(), nil
}

// RevokeInvite marks invite id of caseID revoked at `at` and returns it; an
// invite already revoked keeps its first revocation time.
func (s *Store) RevokeInvite(ctx context.Context, caseID, id string, at time.Time) (*Invite, error) {
	db := s.db.WithContext(ctx)
	t := dbTime(at)
	if err := db.Model(&inviteRow{}).Where("id = ? AND case_id = ? AND revoked_at IS NULL", id, caseID).
		Update("revoked_at", t).Error; err != nil {
		return nil, fmt.Errorf("store: revoke invite %s: %w", id, err)
	}
	var row inviteRow
	if err := take(db.Where("id = ? AND case_id = ?", id, caseID), &row); err != nil {
		return nil, fmt.Errorf("store: revoke invite %s of case %s: %w", id, caseID, err)
	}
	return row.invite(), nil
}

// Evidence is what the customer gave on the join page (consent, location or
// its refusal), kept in the database only: the case event log carries its id
// and SHA256, the digest of Data.
type Evidence struct {
	ID        string
	CaseID    string
	Kind      string
	Attempt   int
	Data      []byte // canonical JSON; SHA256 is over exactly these bytes
	SHA256    string
	CreatedAt time.Time
}

type evidenceRow struct {
	ID        string `gorm:"primaryKey"`
	CaseID    string
	Kind      string
	Attempt   int
	Data      string
	SHA256    string `gorm:"column:sha256"`
	CreatedAt time.Time
}

func (evidenceRow) TableName() string { return "customer_evidence" }

func (r evidenceRow) evidence() Evidence {
	return Evidence{ID: r.ID, CaseID: r.CaseID, Kind: r.Kind, Attempt: r.Attempt, Data: []byte(r.Data), SHA256: r.SHA256, CreatedAt: r.CreatedAt}
}

// AddEvidence stores a piece of evidence.
func (s *Store) AddEvidence(ctx context.Context, ev Evidence) error {
	if ev.ID == "" || ev.CaseID == "" || ev.Kind == "" || len(ev.SHA256) != 64 {
		return fmt.Errorf("store: add evidence: id, case id, kind and sha256 are required: %w", ErrInvalid)
	}
	row := evidenceRow{ID: ev.ID, CaseID: ev.CaseID, Kind: ev.Kind, Attempt: ev.Attempt, Data: string(ev.Data), SHA256: ev.SHA256, CreatedAt: dbTime(ev.CreatedAt)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("store: add evidence %s: %w", ev.ID, err)
	}
	return nil
}

// CaseEvidence returns the case's evidence, oldest first.
func (s *Store) CaseEvidence(ctx context.Context, caseID string) ([]Evidence, error) {
	var rows []evidenceRow
	if err := s.db.WithContext(ctx).Where("case_id = ?", caseID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: evidence of case %s: %w", caseID, err)
	}
	out := make([]Evidence, len(rows))
	for i, r := range rows {
		out[i] = r.evidence()
	}
	return out, nil
}
