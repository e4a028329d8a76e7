package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// TestAgentJoinTokenFollowsNewAttempt: after a dropped call the agent's next
// join token is for the new attempt's room, not the first one's (the agent
// is already assigned; asking again must not answer with the old view).
func TestAgentJoinTokenFollowsNewAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.createCase()
	aj, cj := e.joinTokens(v.ID, "agent-1")
	e.simJoin(aj.Token)
	customer := e.simJoin(cj.Token)
	e.waitFor(v.ID, "in_call", func(v kyc.CaseView) bool { return v.Status == kyc.StatusInCall })

	b, _ := json.Marshal(map[string]string{"peer_id": customer, "reason": "websocket closed"})
	resp, err := http.Post(e.simURL+"/sim/v1/leave", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	v2 := e.waitFor(v.ID, "attempt 2 with its room", func(v kyc.CaseView) bool {
		return v.Attempt == 2 && v.Attempts[1].RoomID != ""
	})
	time.Sleep(100 * time.Millisecond)
	again := e.joinToken(v.ID, e.agent("agent-1"), "agent")
	if again.RoomID != v2.Attempts[1].RoomID {
		t.Fatalf("the agent's join token after the drop is for room %s, want attempt 2's %s (attempt 1's was %s)", again.RoomID, v2.Attempts[1].RoomID, aj.RoomID)
	}
}
