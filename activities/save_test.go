package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

func saveInput(id string, version int64, status kyc.Status, from int64) activities.SaveCaseInput {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var events []activities.CaseEvent
	for seq := from; seq <= version; seq++ {
		events = append(events, activities.CaseEvent{
			Seq: seq, Type: fmt.Sprintf("step_%d", seq), ActorID: "system", ActorRole: kyc.RoleSystem,
			At: at.Add(time.Duration(seq) * time.Second), Data: json.RawMessage(fmt.Sprintf(`{"attempt":1,"n":%d}`, seq)),
		})
	}
	return activities.SaveCaseInput{
		View: kyc.CaseView{
			ID: id, Status: status, Customer: kyc.Customer{Reference: "CUST-1"}, Attempt: 1,
			RequiredCaptures: kyc.DefaultRequiredCaptures, AuditRejections: true,
			Attempts:  []kyc.Attempt{{Number: 1, RoomName: kyc.RoomName(id, 1), Status: kyc.AttemptActive, StartedAt: at}},
			CreatedAt: at, UpdatedAt: at.Add(time.Duration(version) * time.Second), Version: version,
		},
		Events: events,
	}
}

func TestSaveCaseIsIdempotent(t *testing.T) {
	st := newStore(t)
	a := &activities.Activities{Store: st}
	ctx := context.Background()
	id := "8d0c8f9e-1111-4a4a-9b9b-222233334444"
	if _, _, err := st.CreateCase(ctx, store.NewCase{ID: id, Customer: kyc.Customer{Reference: "CUST-1", Name: "Asha"},
		RequiredCaptures: kyc.DefaultRequiredCaptures, AuditRejections: true, CreatedBy: "svc", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	first := saveInput(id, 3, kyc.StatusWaitingForParticipants, 1)
	for range 2 { // an activity retry after a lost answer
		if _, err := a.SaveCase(ctx, first); err != nil {
			t.Fatal(err)
		}
	}
	// The next batch, and a late retry of the first one after it.
	if _, err := a.SaveCase(ctx, saveInput(id, 5, kyc.StatusInCall, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SaveCase(ctx, first); err != nil {
		t.Fatal(err)
	}

	events, err := st.Events(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 5 || events[4].Type != "step_5" {
		t.Fatalf("%d events stored", len(events))
	}
	report, err := st.VerifyChain(ctx, id)
	if err != nil || !report.Valid || report.Count != 5 {
		t.Fatalf("chain %+v, %v", report, err)
	}
	rec, err := st.GetCase(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != kyc.StatusInCall || rec.Version != 5 || rec.Customer.Name != "Asha" {
		t.Fatalf("projection: %s v%d (a late retry must not roll it back)", rec.Status, rec.Version)
	}

	// Other content at a stored sequence number is a bug, never retried.
	forged := saveInput(id, 5, kyc.StatusInCall, 4)
	forged.Events[0].Type = "forged"
	app := appError(t, second(a.SaveCase(ctx, forged)))
	if app.Type() != activities.ErrCaseEventConflict || !app.NonRetryable() {
		t.Fatalf("got %v", app)
	}
}

// The API creates the case row before the workflow starts; if it is missing
// anyway the save creates it from the view rather than lose the log.
func TestSaveCaseWithoutCaseRow(t *testing.T) {
	st := newStore(t)
	a := &activities.Activities{Store: st}
	ctx := context.Background()
	id := "8d0c8f9e-5555-4a4a-9b9b-666677778888"
	if _, err := a.SaveCase(ctx, saveInput(id, 2, kyc.StatusWaitingForParticipants, 1)); err != nil {
		t.Fatal(err)
	}
	report, err := st.VerifyChain(ctx, id)
	if err != nil || !report.Valid || report.Count != 2 {
		t.Fatalf("chain %+v, %v", report, err)
	}
	if rec, err := st.GetCase(ctx, id); err != nil || rec.Version != 2 {
		t.Fatalf("case %+v, %v", rec, err)
	}
}

func TestSaveCaseStoreDownIsRetryable(t *testing.T) {
	st := newStore(t)
	a := &activities.Activities{Store: st}
	st.Close()
	app := appError(t, second(a.SaveCase(context.Background(), saveInput("8d0c8f9e-9999-4a4a-9b9b-000011112222", 1, kyc.StatusWaitingForParticipants, 1))))
	if app.Type() != activities.ErrStoreTransient || app.NonRetryable() {
		t.Fatalf("got %v", app)
	}
}

// second is the error of a two-valued call.
func second[T any](_ T, err error) error { return err }
