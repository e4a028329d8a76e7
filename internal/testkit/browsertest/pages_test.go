package browsertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for arranging an expired invite
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/testkit/e2e"
	"github.com/vkyc-engine/vkyc/internal/testkit/stack"
)

// bank is the bank's backend and an admin, over the API.
type bank struct {
	t              *testing.T
	s              *e2e.Stack
	c              *apiclient.Client
	service, admin string
	tokens         []string // every invite token handed out, for the log check
}

func newBank(t *testing.T, s *e2e.Stack) *bank {
	m := apiclient.NewMinter([]byte(e2e.AuthSecret), 2*time.Hour)
	service, err := m.Token("bank-backend", kyc.RoleService)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := m.Token("admin-1", kyc.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return &bank{t: t, s: s, c: apiclient.NewClient(s.APIBase, s.SimBase, nil), service: service, admin: admin}
}

func (b *bank) do(method, path, token string, body, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.c.Call(ctx, method, path, token, body, "", out); err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
}

func (b *bank) createCase(ref string) kyc.CaseView {
	b.t.Helper()
	var v kyc.CaseView
	b.do(http.MethodPost, "/v1/cases", b.service, map[string]any{
		"customer": map[string]string{"reference": ref, "name": "Asha Verma", "email": "asha@example.com"},
	}, &v)
	return v
}

type invite struct {
	InviteID string `json:"invite_id"`
	URL      string `json:"url"`
}

func (b *bank) invite(caseID string) invite {
	b.t.Helper()
	var inv invite
	b.do(http.MethodPost, "/v1/cases/"+caseID+"/invites", b.service, nil, &inv)
	_, token, _ := strings.Cut(inv.URL, "/app/join/")
	b.tokens = append(b.tokens, token)
	return inv
}

func (b *bank) view(caseID string) kyc.CaseView {
	b.t.Helper()
	var v kyc.CaseView
	b.do(http.MethodGet, "/v1/cases/"+caseID, b.admin, nil, &v)
	return v
}

func (b *bank) waitFor(caseID, what string, d time.Duration, ok func(kyc.CaseView) bool) kyc.CaseView {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		v := b.view(caseID)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("case %s: no %s after %s (status %s, attempt %d)", caseID, what, d, v.Status, v.Attempt)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// simPeer is a peer of the simulator's state, with its room's name.
type simPeer struct {
	ID          string
	Role        string
	RoomName    string
	Left        bool
	LeaveReason string
}

// simPeers lists the simulator's peers of a case's rooms, present or gone.
func (b *bank) simPeers(caseID string) []simPeer {
	b.t.Helper()
	var st struct {
		Rooms []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rooms"`
		Sessions []struct {
			RoomID string `json:"room_id"`
			Peers  []struct {
				ID          string     `json:"id"`
				Role        string     `json:"role"`
				LeftAt      *time.Time `json:"left_at"`
				LeaveReason string     `json:"leave_reason"`
			} `json:"peers"`
		} `json:"sessions"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.c.SimGet(ctx, "/sim/v1/state", &st); err != nil {
		b.t.Fatal(err)
	}
	names := map[string]string{}
	for _, r := range st.Rooms {
		names[r.ID] = r.Name
	}
	var out []simPeer
	for _, ss := range st.Sessions {
		if !strings.Contains(names[ss.RoomID], caseID) {
			continue
		}
		for _, p := range ss.Peers {
			out = append(out, simPeer{ID: p.ID, Role: p.Role, RoomName: names[ss.RoomID], Left: p.LeftAt != nil, LeaveReason: p.LeaveReason})
		}
	}
	return out
}

// customerPeer is the simulator's peer id of the customer in the call.
func (b *bank) customerPeer(caseID string) string {
	b.t.Helper()
	for _, p := range b.simPeers(caseID) {
		if p.Role == "customer" && !p.Left {
			return p.ID
		}
	}
	b.t.Fatalf("case %s has no customer in a call", caseID)
	return ""
}

// drop cuts a peer's signalling connection as a network failure would.
func (b *bank) drop(peerID string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.c.SimPost(ctx, "/sim/v1/drop", map[string]string{"peer_id": peerID}, nil); err != nil {
		b.t.Fatal(err)
	}
}

// TestPages runs the pages on one stack: the links that must not open, a
// camera that is blocked, the whole case through the three pages, and a
// call dropped with a network failure.
func TestPages(t *testing.T) {
	chromium(t)
	card := writeTestCard(t)
	s := e2e.Start(t, e2e.Options{OIDC: true})
	b := newBank(t, s)
	customer := newBrowser(t, card, false)
	staff := newBrowser(t, "", false)
	t.Logf("screenshots in %s", shotDir)

	t.Run("links that do not open", func(t *testing.T) { badLinks(t, s, b, customer) })
	t.Run("camera blocked", func(t *testing.T) { cameraBlocked(t, b, newBrowser(t, card, true)) })
	t.Run("whole case", func(t *testing.T) { wholeCase(t, s, b, customer, staff) })
	t.Run("dropped call", func(t *testing.T) { droppedCall(t, s, b, customer, staff) })
	t.Run("single sign-on", func(t *testing.T) { singleSignOn(t, s, staff) })
	// Last: it restarts the API in production mode.
	t.Run("production sign-in", func(t *testing.T) { productionSignIn(t, s, staff) })

	// No invite in any log: the pages send it in a header, and the access
	// log names routes (/app/join/:invite), never paths.
	for _, p := range []string{stack.API, stack.Worker, stack.Simulator} {
		if found := e2e.HasAny(s.Logs(p), b.tokens...); len(found) > 0 {
			t.Errorf("the %s log holds %d invite tokens", p, len(found))
		}
	}
	if len(b.tokens) < 4 {
		t.Errorf("only %d invites were handed out; the log check saw too little", len(b.tokens))
	}
}

func badLinks(t *testing.T, s *e2e.Stack, b *bank, browserCtx context.Context) {
	tab := newTab(t, browserCtx)
	phone(t, tab)
	v := b.createCase("CUST-BAD-LINK")
	inv := b.invite(v.ID)
	b.do(http.MethodDelete, "/v1/cases/"+v.ID+"/invites/"+inv.InviteID, b.service, nil, nil)

	run(t, tab, 30*time.Second, "open a revoked invite", chromedp.Navigate(inv.URL))
	waitJS(t, tab, 15*time.Second, "the invalid-link screen", visible("screen-invalid"))
	var title string
	run(t, tab, 5*time.Second, "read the title", chromedp.Text("#invalid-title", &title, chromedp.ByQuery))
	if title != "This link has expired or was withdrawn" {
		t.Fatalf("revoked invite: title %q", title)
	}
	shot(t, tab, "customer-link-withdrawn")

	// An expired link: the invite's lifetime has passed.
	expired := b.invite(v.ID)
	db, err := sql.Open("pgx", s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE invites SET expires_at = now() - interval '1 minute' WHERE id = $1`, expired.InviteID); err != nil {
		t.Fatal(err)
	}
	run(t, tab, 30*time.Second, "open an expired invite", chromedp.Navigate(expired.URL))
	waitJS(t, tab, 15*time.Second, "the expired-link screen", visible("screen-invalid")+` && document.getElementById("invalid-message").textContent.includes("expired")`)

	run(t, tab, 30*time.Second, "open an unknown invite", chromedp.Navigate(s.APIBase+"/app/join/"+strings.Repeat("x", 43)))
	waitJS(t, tab, 15*time.Second, "the invalid-link screen", visible("screen-invalid")+` && document.getElementById("invalid-title").textContent === "This link is not valid"`)
	if n := len(b.simPeers(v.ID)); n != 0 {
		t.Fatalf("%d peers joined through a withdrawn invite", n)
	}
}

func cameraBlocked(t *testing.T, b *bank, tab context.Context) {
	phone(t, tab)
	v := b.createCase("CUST-NO-CAMERA")
	inv := b.invite(v.ID)
	run(t, tab, 30*time.Second, "open the invite", chromedp.Navigate(inv.URL))
	waitJS(t, tab, 15*time.Second, "consent", visible("screen-consent"))
	click(t, tab, "I agree")
	waitJS(t, tab, 15*time.Second, "the camera error", visible("preview-error"))
	var problem, msg string
	run(t, tab, 5*time.Second, "read the error",
		chromedp.AttributeValue("#preview-error", "data-problem", &problem, nil, chromedp.ByQuery),
		chromedp.Text("#preview-error", &msg, chromedp.ByQuery))
	if problem != "denied" || !strings.Contains(msg, "blocked") {
		t.Fatalf("blocked camera: problem %q, message %q", problem, msg)
	}
	var continueDisabled bool
	evalJS(t, tab, `document.getElementById("preview-continue").disabled`, &continueDisabled)
	if !continueDisabled {
		t.Fatal("Continue is enabled without a camera")
	}
	shot(t, tab, "customer-camera-blocked")
	if n := len(b.simPeers(v.ID)); n != 0 {
		t.Fatalf("%d peers joined without a camera", n)
	}
	if got := b.view(v.ID); got.Participants.Customer.Joined {
		t.Fatal("the customer counts as joined without a camera")
	}
}

// customerToWaitingRoom takes the customer from the link to the waiting
// room, taking screenshots of each screen.
func customerToWaitingRoom(t *testing.T, s *e2e.Stack, tab context.Context, url string, shots bool) {
	grantLocation(t, tab, s.APIBase)
	run(t, tab, 30*time.Second, "open the invite", chromedp.Navigate(url))
	waitJS(t, tab, 15*time.Second, "consent", visible("screen-consent"))
	if shots {
		noHorizontalScroll(t, tab, "consent")
		shot(t, tab, "customer-1-consent")
		if bad := unnamedControls(t, tab); len(bad) > 0 {
			t.Errorf("controls without an accessible name: %v", bad)
		}
		// From the keyboard: the screen's heading has focus, Tab reaches
		// "I agree" and Enter presses it.
		pressKeys(t, tab, "\t")
		if name := focused(t, tab); name != "I agree" {
			t.Fatalf("Tab from the consent heading reaches %q, want I agree", name)
		}
		pressKeys(t, tab, "\r")
	} else {
		click(t, tab, "I agree")
	}
	waitJS(t, tab, 20*time.Second, "the camera preview", `!document.getElementById("preview-continue").disabled && document.getElementById("preview-video").videoWidth > 0`)
	if shots {
		shot(t, tab, "customer-2-preview")
	}
	click(t, tab, "Continue")
	waitJS(t, tab, 10*time.Second, "the location request", visible("screen-location"))
	if shots {
		shot(t, tab, "customer-3-location")
	}
	click(t, tab, "Share location")
	waitJS(t, tab, 20*time.Second, "the waiting room", visible("screen-waiting"))
	if shots {
		noHorizontalScroll(t, tab, "waiting room")
		shot(t, tab, "customer-4-waiting")
	}
}

// agentSignIn opens the console and signs in as agent-7.
func agentSignIn(t *testing.T, s *e2e.Stack, tab context.Context) {
	run(t, tab, 30*time.Second, "open the console", chromedp.Navigate(s.APIBase+"/app/agent"))
	waitJS(t, tab, 15*time.Second, "sign-in", visible("signin-form"))
	shot(t, tab, "agent-0-signin")
	click(t, tab, "Sign in")
	waitJS(t, tab, 15*time.Second, "the queue", visible("screen-queue"))
}

// customerWaitingAgentIn creates case ref, brings its customer through the
// invite into the waiting room on a phone-sized tab (with screenshots when
// shots) until the case shows them joined, and signs an agent in on a staff
// tab.
func customerWaitingAgentIn(t *testing.T, s *e2e.Stack, b *bank, ref string, shots bool, customerBrowser, staffBrowser context.Context) (v kyc.CaseView, cust, agent context.Context) {
	v = b.createCase(ref)
	inv := b.invite(v.ID)
	cust = newTab(t, customerBrowser)
	phone(t, cust)
	customerToWaitingRoom(t, s, cust, inv.URL, shots)
	b.waitFor(v.ID, "customer in the room", 30*time.Second, func(v kyc.CaseView) bool { return v.Participants.Customer.Joined })
	agent = newTab(t, staffBrowser)
	agentSignIn(t, s, agent)
	return v, cust, agent
}

func wholeCase(t *testing.T, s *e2e.Stack, b *bank, customerBrowser, staffBrowser context.Context) {
	v, cust, agent := customerWaitingAgentIn(t, s, b, "CUST-PAGES-1", true, customerBrowser, staffBrowser)
	waitJS(t, agent, 15*time.Second, "the case in the queue", `!!document.querySelector('#queue-rows tr[data-case="`+v.ID+`"]')`)
	shot(t, agent, "agent-1-queue")

	// The first upload's answer is lost on the way back: the page retries
	// with the same Idempotency-Key and the capture registers once.
	var failed atomic.Int32
	chromedp.ListenTarget(agent, func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		go func() {
			c := cdp.WithExecutor(agent, chromedp.FromContext(agent).Target)
			if e.ResponseStatusCode == http.StatusCreated && failed.CompareAndSwap(0, 1) {
				_ = fetch.FailRequest(e.RequestID, network.ErrorReasonConnectionReset).Do(c)
				return
			}
			_ = fetch.ContinueRequest(e.RequestID).Do(c)
		}()
	})
	run(t, agent, 10*time.Second, "intercept uploads", fetch.Enable().WithPatterns([]*fetch.RequestPattern{
		{URLPattern: "*/v1/cases/*/captures?*", RequestStage: fetch.RequestStageResponse},
	}))

	click(t, agent, "Take next case")
	waitJS(t, agent, 45*time.Second, "the customer's video", visible("screen-case")+` && document.getElementById("remote-video").videoWidth > 0`)
	waitJS(t, cust, 30*time.Second, "the call on the customer's side", visible("screen-call")+` && document.getElementById("remote-video").videoWidth > 0`)
	b.waitFor(v.ID, "in call", 30*time.Second, func(v kyc.CaseView) bool { return v.Status == kyc.StatusInCall })
	// Let the video reach its full resolution before capturing.
	waitJS(t, agent, 30*time.Second, "the customer's video at its native size", `document.getElementById("remote-video").videoWidth === 640`)
	noHorizontalScroll(t, cust, "call")
	shot(t, cust, "customer-5-call")
	for name, tab := range map[string]context.Context{"customer": cust, "agent": agent} {
		if bad := unnamedControls(t, tab); len(bad) > 0 {
			t.Errorf("%s's call screen has controls without an accessible name: %v", name, bad)
		}
	}

	for i, kind := range []struct{ label, kind string }{{"face", "face"}, {"ID front", "id_front"}, {"ID back", "id_back"}} {
		click(t, agent, "Capture "+kind.label)
		waitJS(t, agent, 10*time.Second, "the capture preview", visible("capture-preview"))
		if i == 0 {
			shot(t, agent, "agent-2-capture")
		}
		click(t, agent, "Upload")
		waitJS(t, agent, 45*time.Second, kind.label+" uploaded", `document.getElementById("upload-state").textContent === "`+kind.label+` uploaded." && !!document.querySelector('#checklist li.done[data-kind="`+kind.kind+`"]')`)
	}
	if failed.Load() != 1 {
		t.Fatal("the first upload's answer was not dropped; the retry path was not exercised")
	}
	run(t, agent, 5*time.Second, "stop intercepting", fetch.Disable())
	shot(t, agent, "agent-3-call")

	got := b.view(v.ID)
	kinds := map[kyc.CaptureKind]int{}
	for _, c := range got.Captures {
		kinds[c.Kind]++
	}
	if kinds[kyc.CaptureFace] != 1 || kinds[kyc.CaptureIDFront] != 1 || kinds[kyc.CaptureIDBack] != 1 {
		t.Fatalf("captures %v: want exactly one of each (the retried face upload too)", kinds)
	}
	checkCapture(t, s, got, kyc.CaptureFace)

	run(t, agent, 10*time.Second, "write a reason", chromedp.SendKeys("#decision-reason", "Face matches the ID card", chromedp.ByQuery))
	click(t, agent, "Approve")
	waitJS(t, agent, 30*time.Second, "the decision", `document.getElementById("decision-state").textContent.startsWith("Decision recorded")`)
	shot(t, agent, "agent-4-decided")
	// The engine ends the room after the decision; the agent leaves unless
	// that came first.
	var left bool
	evalJS(t, agent, `(() => { const b = document.getElementById("leave"); if (b.hidden) return false; b.click(); return true })()`, &left)
	waitJS(t, agent, 30*time.Second, "the agent's call to end", `document.body.dataset.call === "ended" && document.getElementById("leave").hidden`)
	t.Logf("the agent pressed Leave call: %v (else the engine ended the room first)", left)
	waitJS(t, cust, 45*time.Second, "the end screen", `document.body.dataset.end === "completed"`)
	shot(t, cust, "customer-6-end")

	b.waitFor(v.ID, "the verified recording", 90*time.Second, func(v kyc.CaseView) bool { return v.Status == kyc.StatusAwaitingAudit })

	audit := newTab(t, staffBrowser)
	run(t, audit, 30*time.Second, "open the review", chromedp.Navigate(s.APIBase+"/app/audit"))
	waitJS(t, audit, 15*time.Second, "sign-in", visible("signin-form"))
	click(t, audit, "Sign in")
	waitJS(t, audit, 15*time.Second, "the list", `!!document.querySelector('#list-rows tr[data-case="`+v.ID+`"]')`)
	shot(t, audit, "auditor-1-list")
	click(t, audit, "Review case CUST-PAGES-1")
	waitJS(t, audit, 20*time.Second, "the recording", visible("screen-case")+` && document.getElementById("recording").readyState >= 1`)
	var started bool
	evalJS(t, audit, `document.getElementById("recording").play().then(() => true)`, &started)
	waitJS(t, audit, 20*time.Second, "playback to advance", `document.getElementById("recording").currentTime > 1`)
	waitJS(t, audit, 20*time.Second, "the captures and the chain", `document.querySelectorAll("#captures img[src]").length === 3 && document.getElementById("chain-status").className === "chain-ok" && !!document.querySelector('#event-rows tr[data-type="consent_given"]')`)
	var natural int
	evalJS(t, audit, `Promise.all([...document.querySelectorAll("#captures img")].map(i => i.decode())).then(() => document.querySelector("#captures img").naturalWidth)`, &natural)
	if natural != cardW {
		t.Fatalf("the auditor's capture image is %d px wide, want %d", natural, cardW)
	}
	shot(t, audit, "auditor-2-case")
	if bad := unnamedControls(t, audit); len(bad) > 0 {
		t.Errorf("the review has controls without an accessible name: %v", bad)
	}
	click(t, audit, "Approve")
	waitJS(t, audit, 30*time.Second, "the approval", `document.body.dataset.status === "approved"`)

	final := b.view(v.ID)
	if final.Status != kyc.StatusApproved || final.Recording.Status != kyc.RecordingVerified {
		t.Fatalf("final case: status %s, recording %s", final.Status, final.Recording.Status)
	}
	var log struct {
		ChainValid bool `json:"chain_valid"`
		Events     []struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		} `json:"events"`
	}
	b.do(http.MethodGet, "/v1/cases/"+v.ID+"/events", b.admin, nil, &log)
	types := map[string]bool{}
	for _, e := range log.Events {
		types[e.Type] = true
	}
	if !log.ChainValid || !types["consent_given"] || !types["location_shared"] {
		t.Fatalf("event log: chain valid %v, types %v", log.ChainValid, types)
	}
}

// checkCapture downloads a capture from the bucket and checks it is a
// full-size frame of the customer's test card.
func checkCapture(t *testing.T, s *e2e.Stack, v kyc.CaseView, kind kyc.CaptureKind) {
	t.Helper()
	var key string
	for _, c := range v.Captures {
		if c.Kind == kind {
			key = c.ObjectKey
		}
	}
	mc, err := minio.New(s.S3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.S3.AccessKey, s.S3.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obj, err := mc.GetObject(ctx, s.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read capture %s: %v", key, err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("capture %s is not a JPEG: %v", key, err)
	}
	if b := img.Bounds(); b.Dx() != cardW || b.Dy() != cardH {
		t.Fatalf("capture is %dx%d, want the customer's native %dx%d", b.Dx(), b.Dy(), cardW, cardH)
	}
	checkTestCard(t, img)
}

func droppedCall(t *testing.T, s *e2e.Stack, b *bank, customerBrowser, staffBrowser context.Context) {
	v, cust, agent := customerWaitingAgentIn(t, s, b, "CUST-PAGES-DROP", false, customerBrowser, staffBrowser)
	click(t, agent, "Take next case")
	waitJS(t, agent, 45*time.Second, "the customer's video", `document.getElementById("remote-video").videoWidth > 0`)
	b.waitFor(v.ID, "in call", 30*time.Second, func(v kyc.CaseView) bool { return v.Status == kyc.StatusInCall })

	// The customer's network goes. Chromium's offline emulation fails new
	// requests but leaves open WebSockets alone, so the simulator cuts the
	// customer's signalling socket as the network would.
	run(t, cust, 10*time.Second, "go offline", network.Enable(), network.EmulateNetworkConditions(true, 0, -1, -1))
	b.drop(b.customerPeer(v.ID))
	waitJS(t, cust, 20*time.Second, "the reconnecting banner", visible("reconnecting"))
	shot(t, cust, "customer-7-reconnecting")
	b.waitFor(v.ID, "a new attempt", 60*time.Second, func(v kyc.CaseView) bool {
		return v.Attempt == 2 && v.Attempts[0].Status == kyc.AttemptAborted
	})
	waitJS(t, agent, 30*time.Second, "the console on attempt 2", `document.body.dataset.attempt === "2" && `+visible("attempt-banner"))
	shot(t, agent, "agent-5-new-attempt")
	run(t, cust, 10*time.Second, "back online", network.EmulateNetworkConditions(false, 0, -1, -1))
	waitJS(t, cust, 45*time.Second, "the interrupted screen", `document.body.dataset.end === "interrupted"`)
	shot(t, cust, "customer-8-interrupted")
	if got := b.view(v.ID); got.Attempts[0].EndReason == "" {
		t.Fatalf("attempt 1 ended without a reason: %+v", got.Attempts[0])
	}

	// The agent joins the new attempt's room, then leaves the call.
	click(t, agent, "Join call")
	waitJS(t, agent, 30*time.Second, "the agent in the new room", `document.body.dataset.call === "connected"`)
	click(t, agent, "Leave call")
	waitJS(t, agent, 15*time.Second, "the agent out of the call", `document.body.dataset.call === "ended"`)
	var reason string
	for _, p := range b.simPeers(v.ID) {
		if p.Role == "agent" && strings.HasSuffix(p.RoomName, "-a2") {
			reason = p.LeaveReason
		}
	}
	if reason != "client request" {
		t.Fatalf("the agent's peer in attempt 2 left with %q, want client request", reason)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// randomSecret is a secret production accepts: 32 random bytes, in hex.
func randomSecret(t *testing.T) string { return hex.EncodeToString(randomBytes(t, 32)) }

// productionSignIn restarts the API with VKYC_ENV=production: the pages must
// not offer development sign-in, and say that sign-in is not configured.
func productionSignIn(t *testing.T, s *e2e.Stack, browserCtx context.Context) {
	s.Stop(stack.API)
	// Production refuses development secrets and, unless told to accept
	// them, plain HTTP and unencrypted objects: this stack's MinIO has both.
	prod := map[string]string{
		"VKYC_ENV":             "production",
		"PUBLIC_BASE_URL":      "https://vkyc.bank.example",
		"HMS_TEMPLATE_ID":      "6a0c0ffee0000000000000t1",
		"API_JWT_SECRET":       randomSecret(t),
		"HMS_ACCESS_KEY":       randomSecret(t),
		"HMS_APP_SECRET":       randomSecret(t),
		"HMS_WEBHOOK_SECRET":   randomSecret(t),
		"S3_ALLOW_HTTP":        "true",
		"S3_ALLOW_UNENCRYPTED": "true",
		"EVIDENCE_SIGNING_KEY": base64.StdEncoding.EncodeToString(randomBytes(t, 32)),
		"PAYLOAD_CODEC_KEYS":   "k1:" + base64.StdEncoding.EncodeToString(randomBytes(t, 32)),
	}
	for _, name := range stack.OIDCVariables {
		prod[name] = "" // no single sign-on either
	}
	if err := s.Launch(stack.API, prod); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.APIBase + "/healthz") // #nosec G107 -- the stack's own loopback address
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API did not start in production mode:\n%s", s.Logs(stack.API))
		}
		time.Sleep(200 * time.Millisecond)
	}
	tab := newTab(t, browserCtx)
	run(t, tab, 30*time.Second, "open the console", chromedp.Navigate(s.APIBase+"/app/agent"))
	waitJS(t, tab, 15*time.Second, "the sign-in message", visible("signin-unavailable")+` && document.getElementById("signin-form").hidden`)
	var msg string
	run(t, tab, 5*time.Second, "read the message", chromedp.Text("#signin-unavailable", &msg, chromedp.ByQuery))
	if !strings.Contains(msg, "Sign-in is not configured") {
		t.Fatalf("production sign-in message %q", msg)
	}
	shot(t, tab, "agent-signin-production")
}

// singleSignOn signs agent-9 in to the console through the identity
// provider's login page (authorization code with PKCE): the page returns
// with a code, which leaves the address at once, and the console opens;
// auditor-3 on the agent console is told the page is not theirs.
func singleSignOn(t *testing.T, s *e2e.Stack, browserCtx context.Context) {
	tab := newTab(t, browserCtx)
	run(t, tab, 30*time.Second, "open the console", chromedp.Navigate(s.APIBase+"/app/agent"))
	waitJS(t, tab, 15*time.Second, "the single sign-on button", visible("signin-sso"))
	shot(t, tab, "agent-0-signin-sso")
	click(t, tab, "Sign in with single sign-on")
	// Across origins: wait with the DOM (a polled script dies with the
	// page it runs in).
	var loginURL string
	run(t, tab, 15*time.Second, "the provider's login page", chromedp.WaitVisible("#password", chromedp.ByQuery), chromedp.Location(&loginURL))
	if !strings.HasPrefix(loginURL, s.OIDCBase+"/login") || strings.Contains(loginURL, "code_verifier") {
		t.Fatalf("the login page is at %s", loginURL)
	}
	run(t, tab, 10*time.Second, "fill in the login form",
		chromedp.SendKeys("#username", "agent-9", chromedp.ByQuery),
		chromedp.SendKeys("#password", e2e.OIDCPassword, chromedp.ByQuery))
	shot(t, tab, "idp-login")
	click(t, tab, "Sign in")
	run(t, tab, 20*time.Second, "the queue", chromedp.WaitVisible("#screen-queue", chromedp.ByQuery))
	var state struct {
		Href, Who string
		Token     string
	}
	evalJS(t, tab, `({href: location.href, who: document.getElementById("who").textContent,
		token: JSON.parse(sessionStorage.getItem("vkyc.session.agent") || "{}").token || ""})`, &state)
	if state.Href != s.APIBase+"/app/agent" {
		t.Fatalf("the console's address after sign-in is %s: the code must leave it", state.Href)
	}
	if state.Who != "Signed in as agent-9" || strings.Count(state.Token, ".") != 2 {
		t.Fatalf("after single sign-on: %q, token %d bytes", state.Who, len(state.Token))
	}
	// The token is the provider's (RS256), and the API takes it.
	if alg := jwtAlg(t, state.Token); alg != "RS256" {
		t.Fatalf("the console holds a %s token", alg)
	}
	shot(t, tab, "agent-1-queue-sso")

	// An auditor on the agent console: signed in at the provider, refused
	// by the page.
	other := newTab(t, browserCtx)
	run(t, other, 30*time.Second, "open the console", chromedp.Navigate(s.APIBase+"/app/agent"))
	click(t, other, "Sign in with single sign-on")
	run(t, other, 15*time.Second, "the provider's login page", chromedp.WaitVisible("#password", chromedp.ByQuery))
	run(t, other, 10*time.Second, "fill in the login form",
		chromedp.SendKeys("#username", "auditor-3", chromedp.ByQuery),
		chromedp.SendKeys("#password", e2e.OIDCPassword, chromedp.ByQuery))
	click(t, other, "Sign in")
	run(t, other, 20*time.Second, "the refusal", chromedp.WaitVisible("#signin-unavailable", chromedp.ByQuery))
	var msg, href string
	run(t, other, 5*time.Second, "read the refusal", chromedp.Text("#signin-unavailable", &msg, chromedp.ByQuery), chromedp.Location(&href))
	if !strings.Contains(msg, "auditor-3, who is an auditor; this page is for an agent") || strings.Contains(href, "code=") {
		t.Fatalf("auditor on the agent console: %q at %s", msg, href)
	}
}

// jwtAlg reads a JWT's header alg.
func jwtAlg(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Alg
}
