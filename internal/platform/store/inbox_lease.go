package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Several API replicas each run a dispatcher over the one inbox. A case's
// pending rows must go out once and in order, so a dispatcher delivers only
// the rows of cases it holds a lease on (webhook_inbox_leases, one row per
// case, decided by its primary key): the other replicas skip those cases
// and take the rest. A lease ends when its holder releases it after its
// round, or expires ttl after it was taken or renewed, so a replica that
// died mid-round delays its cases' events by at most ttl, and loses none.

// InboxClaim leases, for owner, the cases of the oldest pending rows that no
// other owner holds an unexpired lease on (renewing owner's own), and
// returns the pending rows of the cases it now holds, oldest first, at most
// limit (limit <= 0 means 100). The rows are read after the leases are
// taken, so none was settled by a previous holder in between. On
// PostgreSQL the database's clock times the leases, so replicas on hosts
// whose clocks differ agree on expiry.
func (s *Store) InboxClaim(ctx context.Context, owner string, ttl time.Duration, limit int) ([]InboxRow, error) {
	if owner == "" || ttl <= 0 {
		return nil, fmt.Errorf("store: inbox claim: owner and a positive ttl are required: %w", ErrInvalid)
	}
	if limit <= 0 {
		limit = 100
	}
	now, nowArgs, until, untilArg := s.leaseClock(ttl)
	db := s.db.WithContext(ctx)

	var candidates []string
	args := append([]any{string(InboxPending), owner}, nowArgs...)
	err := db.Raw(`SELECT case_id FROM webhook_inbox WHERE state = ? AND case_id NOT IN
		(SELECT case_id FROM webhook_inbox_leases WHERE owner <> ? AND expires_at > `+now+`)
		ORDER BY received_at, event_id LIMIT ?`, append(args, limit)...).Scan(&candidates).Error
	if err != nil {
		return nil, fmt.Errorf("store: inbox claim: pending cases: %w", err)
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	slices.Sort(candidates) // one lock order for every claimer
	candidates = slices.Compact(candidates)

	var held []string
	for part := range slices.Chunk(candidates, inListMax) {
		var sql strings.Builder
		sql.WriteString("INSERT INTO webhook_inbox_leases (case_id, owner, expires_at) VALUES ")
		args := make([]any, 0, 3*len(part)+len(nowArgs))
		for i, id := range part {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, " + until + ")")
			args = append(args, id, owner, untilArg)
		}
		sql.WriteString(` ON CONFLICT (case_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE webhook_inbox_leases.owner = excluded.owner OR webhook_inbox_leases.expires_at <= ` + now + ` RETURNING case_id`)
		args = append(args, nowArgs...)
		var got []string
		if err := db.Raw(sql.String(), args...).Scan(&got).Error; err != nil {
			return nil, fmt.Errorf("store: inbox claim: lease %d cases: %w", len(part), err)
		}
		held = append(held, got...)
	}
	if len(held) == 0 {
		return nil, nil
	}

	var rows []inboxRow
	for part := range slices.Chunk(held, inListMax) {
		var got []inboxRow
		err := db.Where("state = ? AND case_id IN ?", string(InboxPending), part).
			Order("received_at, event_id").Limit(limit).Find(&got).Error
		if err != nil {
			return nil, fmt.Errorf("store: inbox claim: rows of %d cases: %w", len(part), err)
		}
		rows = append(rows, got...)
	}
	slices.SortFunc(rows, func(a, b inboxRow) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	if len(rows) > limit {
		rows = rows[:limit]
	}
	out := make([]InboxRow, len(rows))
	for i, r := range rows {
		out[i] = r.public()
	}
	return out, nil
}

// InboxRelease ends owner's leases on caseIDs, and drops leases that
// expired (their holders died), so that the table stays as small as the
// set of cases being delivered.
func (s *Store) InboxRelease(ctx context.Context, owner string, caseIDs []string) error {
	now, nowArgs, _, _ := s.leaseClock(time.Second)
	db := s.db.WithContext(ctx)
	if len(caseIDs) == 0 {
		if err := db.Exec("DELETE FROM webhook_inbox_leases WHERE expires_at <= "+now, nowArgs...).Error; err != nil {
			return fmt.Errorf("store: inbox release expired leases: %w", err)
		}
		return nil
	}
	// One statement a round: the owner's leases and any expired ones.
	for part := range slices.Chunk(caseIDs, inListMax) {
		args := append([]any{owner, part}, nowArgs...)
		if err := db.Exec("DELETE FROM webhook_inbox_leases WHERE (owner = ? AND case_id IN ?) OR expires_at <= "+now, args...).Error; err != nil {
			return fmt.Errorf("store: inbox release %d leases: %w", len(part), err)
		}
	}
	return nil
}

// leaseClock returns SQL for "now" and for "now + ttl" with their
// arguments: the database's clock on PostgreSQL, this process's on SQLite
// (one host).
func (s *Store) leaseClock(ttl time.Duration) (now string, nowArgs []any, until string, untilArg any) {
	if s.dialect == DialectPostgres {
		return "now()", nil, "now() + CAST(? AS double precision) * interval '1 millisecond'", ttl.Milliseconds()
	}
	t := s.now()
	return "?", []any{t}, "?", dbTime(t.Add(ttl))
}
