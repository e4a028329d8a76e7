package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// UnsavedCasesCreatedBefore returns up to limit cases created before
// cutoff that no workflow has ever saved (version 0): the reconciler's
// candidates for a create that failed between its insert and its start.
func (s *Store) UnsavedCasesCreatedBefore(ctx context.Context, cutoff time.Time, limit int) ([]CaseRecord, error) {
	var rows []caseRow
	err := s.db.WithContext(ctx).Where("version = 0 AND created_at < ?", dbTime(cutoff)).
		Order("created_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: unsaved cases: %w", err)
	}
	out := make([]CaseRecord, 0, len(rows))
	for i := range rows {
		rec, err := rows[i].record()
		if err != nil {
			return nil, err
		}
		out = append(out, *rec)
	}
	return out, nil
}

// RoomAttempt is the attempt a 100ms room belongs to, with its case's
// status and current attempt.
type RoomAttempt struct {
	RoomID      string
	CaseID      string
	Attempt     int
	CaseStatus  kyc.Status
	CaseAttempt int
}

// AttemptsOfRooms finds the attempts of the given room ids; rooms that are
// not ours are absent from the result.
func (s *Store) AttemptsOfRooms(ctx context.Context, roomIDs []string) ([]RoomAttempt, error) {
	var out []RoomAttempt
	for part := range slices.Chunk(roomIDs, inListMax) {
		var rows []struct {
			RoomID      string
			CaseID      string
			Number      int
			Status      string
			CaseAttempt int
		}
		err := s.db.WithContext(ctx).Table("attempts").
			Select("attempts.room_id, attempts.case_id, attempts.number, cases.status, cases.attempt AS case_attempt").
			Joins("JOIN cases ON cases.id = attempts.case_id").
			Where("attempts.room_id IN ?", part).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("store: attempts of rooms: %w", err)
		}
		for _, r := range rows {
			out = append(out, RoomAttempt{RoomID: r.RoomID, CaseID: r.CaseID, Attempt: r.Number,
				CaseStatus: kyc.Status(r.Status), CaseAttempt: r.CaseAttempt})
		}
	}
	return out, nil
}

// PurgeWebhookBodies empties the raw bodies of webhook events received
// before cutoff that are settled (done, ignored or failed). The rows stay,
// with their event id, type, case, outcome and body hash: what was
// delivered remains on record, and a late redelivery is still recognised.
func (s *Store) PurgeWebhookBodies(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&inboxRow{}).
		Where("received_at < ? AND state IN ? AND length(body) > 0", dbTime(cutoff),
			[]string{string(InboxDone), string(InboxIgnored), string(InboxFailed)}).
		Update("body", []byte{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: purge webhook bodies: %w", res.Error)
	}
	return res.RowsAffected, nil
}
