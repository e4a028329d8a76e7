package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SaveIdempotentResponse remembers the response to an update request
// (decision, audit, capture, cancel) under (scope, key), so that a retry gets
// the same answer. The first response saved for a key wins: saving again with
// the same requestHash is a no-op, with another requestHash it is
// ErrIdempotencyConflict. Callers should not save responses to transient
// failures (5xx), which the client is meant to retry for real.
func (s *Store) SaveIdempotentResponse(ctx context.Context, scope, key, requestHash string, status int, body []byte) error {
	if scope == "" || key == "" {
		return fmt.Errorf("store: save idempotent response: scope and key are required: %w", ErrInvalid)
	}
	if body == nil {
		body = []byte{}
	}
	row := idempotencyRow{Scope: scope, IdempotencyKey: key, RequestHash: requestHash, Status: status, Body: body, CreatedAt: s.now()}
	db := s.db.WithContext(ctx)
	res := db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "scope"}, {Name: "idempotency_key"}},
		DoNothing: true,
	}).Create(&row)
	if res.Error != nil {
		return fmt.Errorf("store: save idempotent response %s: %w", scope, res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var stored string
	if err := db.Model(&idempotencyRow{}).Where("scope = ? AND idempotency_key = ?", scope, key).Pluck("request_hash", &stored).Error; err != nil {
		return fmt.Errorf("store: save idempotent response %s: read the stored response: %w", scope, err)
	}
	if stored != requestHash {
		return fmt.Errorf("store: save idempotent response %s: %w", scope, ErrIdempotencyConflict)
	}
	return nil
}

// IdempotentResponse returns the response saved under (scope, key); found is
// false when there is none.
func (s *Store) IdempotentResponse(ctx context.Context, scope, key string) (requestHash string, status int, body []byte, found bool, err error) {
	var row idempotencyRow
	err = s.db.WithContext(ctx).Where("scope = ? AND idempotency_key = ?", scope, key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", 0, nil, false, nil
	}
	if err != nil {
		return "", 0, nil, false, fmt.Errorf("store: idempotent response %s: %w", scope, err)
	}
	return row.RequestHash, row.Status, row.Body, true, nil
}

// PurgeIdempotentResponses deletes responses saved before cutoff, for a
// retention job; it returns how many it deleted.
func (s *Store) PurgeIdempotentResponses(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("created_at < ?", dbTime(cutoff)).Delete(&idempotencyRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: purge idempotent responses: %w", res.Error)
	}
	return res.RowsAffected, nil
}
