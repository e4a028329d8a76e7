package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// maxWebhookBody bounds a 100ms event; real ones are a few KiB.
const maxWebhookBody = 1 << 20

// webhookStoreTimeout bounds the inbox insert: 100ms gives up on a delivery
// after a few seconds and retries, so waiting longer only holds connections.
const webhookStoreTimeout = 5 * time.Second

// Results of a webhook delivery, for the metrics.
const (
	webhookAccepted     = "accepted"
	webhookDuplicate    = "duplicate"
	webhookConflict     = "conflict"
	webhookUnauthorized = "unauthorized"
	webhookMalformed    = "malformed"
	webhookTooLarge     = "too_large"
	webhookStoreFailed  = "store_failed"
	webhookRateLimited  = "rate_limited"
)

type webhookAnswer struct {
	Status string `json:"status"`
	ID     string `json:"id"`
}

// webhook takes a 100ms event into the inbox. It answers 200 only once the
// event is durably stored (or already was), and 5xx only when it could not
// be stored, so that 100ms retries exactly the deliveries we do not have.
// Delivery to the case happens in the dispatcher, never here. The
// Content-Type is not checked: the secret header authenticates the body, and
// refusing an event over a header 100ms might vary would lose it.
func (s *Server) webhook(c *gin.Context) {
	if !s.webhookLimit.allow(c.ClientIP(), s.now()) {
		s.metrics.webhook(webhookRateLimited)
		c.Header("Retry-After", "1")
		s.abort(c, newError(http.StatusTooManyRequests, codeRateLimited, "too many webhook deliveries from this address; retry later"))
		return
	}
	// The secret headers first: an unauthenticated sender gets nothing
	// read, not even the body. The HMAC signature needs the body.
	if err := s.d.Verifier.VerifyHeaders(c.Request.Header); err != nil {
		s.refuseWebhook(c, err)
		return
	}
	body, e := readLimited(c, maxWebhookBody)
	if e != nil {
		result := webhookMalformed
		if e.Status == http.StatusRequestEntityTooLarge {
			result = webhookTooLarge
		}
		s.metrics.webhook(result)
		s.abort(c, e)
		return
	}
	if err := s.d.Verifier.VerifySignature(c.Request.Header, body); err != nil {
		s.refuseWebhook(c, err)
		return
	}
	// Text PostgreSQL cannot store (a NUL in a reason or a user id) would
	// reach the case's event log through the dispatcher and fail its save
	// for ever: such an event is refused whole, never stored.
	if err := kyc.CheckJSONText(body); err != nil {
		s.metrics.webhook(webhookMalformed)
		s.abort(c, malformed("the event cannot be stored: it %v", err))
		return
	}
	ev, err := hms.DecodeEnvelope(body)
	if err != nil {
		s.metrics.webhook(webhookMalformed)
		s.abort(c, malformed("not a 100ms webhook event: %v", err))
		return
	}
	caseID, _, ok := kyc.ParseRoomName(ev.RoomName)
	if !ok {
		caseID = "" // not one of our rooms: kept, then marked ignored
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), webhookStoreTimeout)
	defer cancel()
	inserted, err := s.d.Store.InboxInsert(ctx, store.InboxRow{
		EventID: ev.ID, Type: ev.Type, RoomName: ev.RoomName, CaseID: caseID, Body: body, ReceivedAt: s.now(),
	})
	switch {
	case errors.Is(err, store.ErrIdempotencyConflict) && s.sameAsStored(ctx, ev.ID, body):
		// 100ms's replay of an event it sent before (is_replay: true):
		// the same event, so a duplicate.
		inserted, err = false, nil
	case errors.Is(err, store.ErrIdempotencyConflict):
		s.metrics.webhook(webhookConflict)
		// 100ms never changes an event; another body under a known id is a
		// forgery or a corruption, worth a person's look.
		s.log.WarnContext(c.Request.Context(), "webhook event id replayed with a different body; possible forgery",
			"request_id", requestID(c), "event_id", ev.ID, "type", ev.Type, "room_name", ev.RoomName)
		s.abort(c, newError(http.StatusConflict, codeWebhookReplay, "event %s was already received with a different body", truncate(ev.ID, 128)))
		return
	case errors.Is(err, store.ErrInvalid):
		s.metrics.webhook(webhookMalformed)
		s.abort(c, malformed("the event cannot be stored: %v", err))
		return
	case err != nil:
		s.metrics.webhook(webhookStoreFailed)
		s.abort(c, unavailable("the webhook inbox", err))
		return
	}
	result := webhookDuplicate
	if inserted {
		result = webhookAccepted
	}
	// Also on a duplicate: the first delivery may have been stored after
	// its caller gave up, and its row waits for the dispatcher.
	s.wake()
	s.metrics.webhook(result)
	logAttrs(c, "event_id", ev.ID, "event_type", ev.Type, "case_id", caseID, "result", result)
	c.JSON(http.StatusOK, webhookAnswer{Status: result, ID: ev.ID})
}

// refuseWebhook answers a delivery that failed authentication.
func (s *Server) refuseWebhook(c *gin.Context, err error) {
	s.metrics.webhook(webhookUnauthorized)
	// Which check failed is for our logs only, and never a value.
	s.log.WarnContext(c.Request.Context(), "webhook refused", "request_id", requestID(c), "reason", err.Error())
	s.abort(c, newError(http.StatusUnauthorized, codeUnauthorized, "webhook not authenticated"))
}

// sameAsStored reports whether body is the event stored under id except for
// the envelope's is_replay flag, which 100ms sets on a replay of an event it
// delivered before. Anything else that differs is another event.
func (s *Server) sameAsStored(ctx context.Context, id string, body []byte) bool {
	stored, err := s.d.Store.InboxGet(ctx, id)
	if err != nil {
		return false
	}
	a, b := withoutReplayFlag(stored.Body), withoutReplayFlag(body)
	return a != nil && b != nil && reflect.DeepEqual(a, b)
}

// withoutReplayFlag decodes an event's JSON (numbers kept as written) and
// drops is_replay from its envelope; nil if it is not a JSON object.
func withoutReplayFlag(body []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	delete(m, "is_replay")
	return m
}
