package store

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

func testCreateCase(t *testing.T, s *Store) {
	keyed := func(id, by, key, hash string) NewCase {
		nc := newCase(id)
		nc.CreatedBy, nc.IdempotencyKey, nc.RequestHash = by, key, hash
		return nc
	}
	steps := []struct {
		name        string
		in          NewCase
		wantID      string // the case returned
		wantCreated bool
		wantErr     error
	}{
		{"without key", newCase("c-1"), "c-1", true, nil},
		{"without key, another case", newCase("c-2"), "c-2", true, nil},
		{"existing id", newCase("c-1"), "", false, ErrConflict},
		{"with key", keyed("c-3", "svc-a", "k-1", "h-1"), "c-3", true, nil},
		{"retry: same key and hash", keyed("c-4", "svc-a", "k-1", "h-1"), "c-3", false, nil},
		{"same key, other request", keyed("c-5", "svc-a", "k-1", "h-2"), "", false, ErrIdempotencyConflict},
		{"same key, other creator", keyed("c-6", "svc-b", "k-1", "h-2"), "c-6", true, nil},
		{"retry reusing the case id too", keyed("c-3", "svc-a", "k-1", "h-1"), "c-3", false, nil},
		{"existing id with a new key", keyed("c-1", "svc-a", "k-9", "h-9"), "", false, ErrConflict},
		{"no customer reference", NewCase{ID: "c-7"}, "", false, ErrInvalid},
		{"no id", NewCase{Customer: kyc.Customer{Reference: "r"}}, "", false, ErrInvalid},
	}
	for _, st := range steps {
		rec, created, err := s.CreateCase(testContext(t), st.in)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if st.wantErr != nil {
			continue
		}
		if rec.ID != st.wantID || created != st.wantCreated {
			t.Fatalf("%s: got %s created=%v, want %s created=%v", st.name, rec.ID, created, st.wantID, st.wantCreated)
		}
	}
	if n := count(t, s, "cases", "id LIKE ?", "c-%"); n != 4 {
		t.Fatalf("cases rows = %d, want 4", n)
	}
}

func testCreateCaseConcurrentSameKey(t *testing.T, s *Store) {
	const n = 8
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			nc := newCase("race-" + string(rune('a'+i)))
			nc.IdempotencyKey, nc.RequestHash = "same-key", "same-hash"
			<-start
			var rec *CaseRecord
			rec, created[i], errs[i] = s.CreateCase(testContext(t), nc)
			if rec != nil {
				ids[i] = rec.ID
			}
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("create #%d: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
		if ids[i] != ids[0] {
			t.Fatalf("creates returned different cases: %v", ids)
		}
	}
	if winners != 1 {
		t.Fatalf("%d creates report created=true, want 1", winners)
	}
	if got := count(t, s, "cases", "idempotency_key = ?", "same-key"); got != 1 {
		t.Fatalf("%d rows for the key, want 1", got)
	}
}

func testGetCase(t *testing.T, s *Store) {
	nc := newCase("g-1")
	nc.RequiredCaptures = []kyc.CaptureKind{kyc.CaptureFace, kyc.CapturePAN}
	nc.AuditRejections = true
	nc.CreatedAt = time.Date(2025, 3, 1, 9, 0, 0, 123456789, time.FixedZone("IST", 5*3600+1800))
	mustCreate(t, s, nc)

	rec, err := s.GetCase(testContext(t), "g-1")
	if err != nil {
		t.Fatalf("GetCase: %v", err)
	}
	wantTime := nc.CreatedAt.UTC().Truncate(time.Microsecond)
	if rec.Status != kyc.StatusWaitingForParticipants || rec.Customer != nc.Customer || rec.Version != 0 ||
		!rec.CreatedAt.Equal(wantTime) || rec.CreatedAt.Location() != time.UTC {
		t.Fatalf("record = %+v", rec)
	}
	v := rec.View
	if v.ID != "g-1" || v.Status != kyc.StatusWaitingForParticipants || v.Customer != nc.Customer ||
		!slices.Equal(v.RequiredCaptures, nc.RequiredCaptures) || !v.AuditRejections ||
		v.Attempts == nil || v.Captures == nil || v.Recording.Status != kyc.RecordingPending || !v.CreatedAt.Equal(wantTime) {
		t.Fatalf("initial view = %+v", v)
	}

	if _, err := s.GetCase(testContext(t), "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetCase(missing) = %v, want ErrNotFound", err)
	}
}

func projection(id string, version int64, status kyc.Status) kyc.CaseView {
	start := t0.Add(time.Minute)
	return kyc.CaseView{
		ID:               id,
		Status:           status,
		Customer:         kyc.Customer{Reference: "ref-" + id},
		AgentID:          "agent-7",
		RequiredCaptures: kyc.DefaultRequiredCaptures,
		Attempt:          1,
		Attempts:         []kyc.Attempt{{Number: 1, RoomID: "room-1", RoomName: kyc.RoomName(id, 1), Status: kyc.AttemptActive, StartedAt: start}},
		Captures: []kyc.Capture{{
			ID: id + "-cap-1", Kind: kyc.CaptureFace, ObjectKey: "cases/" + id + "/attempt-1/face-1.jpg", Size: 2048,
			SHA256: strings.Repeat("ab", 32), ContentType: "image/jpeg", Attempt: 1, CreatedBy: "agent-7", CreatedAt: start,
		}},
		Recording: kyc.Recording{Status: kyc.RecordingStarted},
		CreatedAt: t0,
		UpdatedAt: t0.Add(time.Duration(version) * time.Second),
		Version:   version,
	}
}

func testSaveProjection(t *testing.T, s *Store) {
	nc := newCase("p-1")
	mustCreate(t, s, nc)
	ctx := testContext(t)

	v2 := projection("p-1", 2, kyc.StatusInCall)
	v2.Customer.Name, v2.Customer.Email = "Leaked Name", "leak@example.com" // must not be stored
	if err := s.SaveProjection(ctx, v2); err != nil {
		t.Fatalf("SaveProjection v2: %v", err)
	}
	rec, err := s.GetCase(ctx, "p-1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != kyc.StatusInCall || rec.AgentID != "agent-7" || rec.Attempt != 1 || rec.Version != 2 ||
		rec.View.Status != kyc.StatusInCall || len(rec.View.Attempts) != 1 || len(rec.View.Captures) != 1 ||
		!rec.UpdatedAt.Equal(v2.UpdatedAt) {
		t.Fatalf("after v2: %+v", rec)
	}
	if rec.Customer != nc.Customer || rec.View.Customer != nc.Customer {
		t.Fatalf("PII not kept from the case row: %+v / %+v", rec.Customer, rec.View.Customer)
	}
	if n := count(t, s, "cases", `CAST("view" AS text) LIKE ? OR CAST("view" AS text) LIKE ?`, "%Leaked%", "%Asha%"); n != 0 {
		t.Fatal("the view column holds PII")
	}

	stale := []kyc.CaseView{projection("p-1", 2, kyc.StatusFailed), projection("p-1", 1, kyc.StatusFailed), projection("p-1", 0, kyc.StatusFailed)}
	for _, v := range stale {
		v.Attempts, v.Captures = nil, nil
		if err := s.SaveProjection(ctx, v); err != nil {
			t.Fatalf("SaveProjection stale v%d: %v", v.Version, err)
		}
	}
	rec, _ = s.GetCase(ctx, "p-1")
	if rec.Status != kyc.StatusInCall || rec.Version != 2 {
		t.Fatalf("a stale projection was applied: status %s version %d", rec.Status, rec.Version)
	}
	if n := count(t, s, "attempts", "case_id = ?", "p-1"); n != 1 {
		t.Fatalf("a stale projection replaced attempts: %d rows", n)
	}

	v5 := projection("p-1", 5, kyc.StatusAwaitingDecision)
	ended := t0.Add(10 * time.Minute)
	v5.Attempt = 2
	v5.Attempts[0].Status, v5.Attempts[0].EndedAt, v5.Attempts[0].EndReason = kyc.AttemptAborted, &ended, "peer left"
	v5.Attempts = append(v5.Attempts, kyc.Attempt{Number: 2, RoomID: "room-2", RoomName: kyc.RoomName("p-1", 2), Status: kyc.AttemptActive, StartedAt: ended})
	v5.Captures = []kyc.Capture{{ID: "p-1-cap-9", Kind: kyc.CaptureIDFront, ObjectKey: "k", Size: 1, SHA256: "00", ContentType: "image/png", Attempt: 2, CreatedBy: "agent-7", CreatedAt: ended}}
	v5.Overdue = true
	if err := s.SaveProjection(ctx, v5); err != nil {
		t.Fatalf("SaveProjection v5: %v", err)
	}
	rec, _ = s.GetCase(ctx, "p-1")
	if rec.Status != kyc.StatusAwaitingDecision || rec.Version != 5 || rec.Attempt != 2 || !rec.Overdue {
		t.Fatalf("after v5: %+v", rec)
	}
	var attempts []attemptRow
	s.db.Where("case_id = ?", "p-1").Order("number").Find(&attempts)
	if len(attempts) != 2 || attempts[0].Status != kyc.AttemptAborted || attempts[0].EndedAt == nil ||
		!attempts[0].EndedAt.Equal(ended) || attempts[0].EndReason != "peer left" || attempts[1].EndedAt != nil ||
		attempts[1].RoomName != "kyc-p-1-a2" {
		t.Fatalf("attempts rows = %+v", attempts)
	}
	var captures []captureRow
	s.db.Where("case_id = ?", "p-1").Find(&captures)
	if len(captures) != 1 || captures[0].ID != "p-1-cap-9" || captures[0].Kind != string(kyc.CaptureIDFront) || captures[0].Attempt != 2 {
		t.Fatalf("captures rows = %+v", captures)
	}

	if err := s.SaveProjection(ctx, kyc.CaseView{ID: "p-1", Status: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid status: %v", err)
	}
}

func testSaveProjectionWithoutCaseRow(t *testing.T, s *Store) {
	v := projection("orphan", 0, kyc.StatusWaitingForParticipants)
	v.Customer.Name = "Leaked"
	if err := s.SaveProjection(testContext(t), v); err != nil {
		t.Fatalf("SaveProjection: %v", err)
	}
	rec, err := s.GetCase(testContext(t), "orphan")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Customer != (kyc.Customer{Reference: "ref-orphan"}) || rec.Version != 0 || len(rec.View.Attempts) != 1 {
		t.Fatalf("record = %+v", rec)
	}
	// The first projection is taken even at version 0; the next needs a higher one.
	if err := s.SaveProjection(testContext(t), projection("orphan", 0, kyc.StatusFailed)); err != nil {
		t.Fatal(err)
	}
	if rec, _ := s.GetCase(testContext(t), "orphan"); rec.Status != kyc.StatusWaitingForParticipants {
		t.Fatalf("a repeated version 0 was applied: %s", rec.Status)
	}
}

func testSaveProjectionConcurrentVersions(t *testing.T, s *Store) {
	mustCreate(t, s, newCase("cv-1"))
	var wg sync.WaitGroup
	for v := int64(1); v <= 12; v++ {
		wg.Go(func() {
			p := projection("cv-1", v, kyc.StatusInCall)
			p.Attempt = int(v)
			p.Attempts = nil
			for n := 1; n <= int(v); n++ {
				p.Attempts = append(p.Attempts, kyc.Attempt{Number: n, RoomName: kyc.RoomName("cv-1", n), Status: kyc.AttemptActive, StartedAt: t0})
			}
			if err := s.SaveProjection(testContext(t), p); err != nil {
				t.Errorf("SaveProjection v%d: %v", v, err)
			}
		})
	}
	wg.Wait()
	rec, err := s.GetCase(testContext(t), "cv-1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 12 || rec.Attempt != 12 || len(rec.View.Attempts) != 12 {
		t.Fatalf("the newest projection lost: version %d attempt %d", rec.Version, rec.Attempt)
	}
	if n := count(t, s, "attempts", "case_id = ?", "cv-1"); n != 12 {
		t.Fatalf("attempts rows = %d, want those of version 12", n)
	}
}

func TestCases(t *testing.T) {
	forEachDialectInTurn(t,
		storeTest{"create", testCreateCase},
		storeTest{"concurrent creates with one key", testCreateCaseConcurrentSameKey},
		storeTest{"get", testGetCase},
		storeTest{"projection", testSaveProjection},
		storeTest{"projection without case row", testSaveProjectionWithoutCaseRow},
		storeTest{"concurrent projections", testSaveProjectionConcurrentVersions},
	)
}
